using Microsoft.Extensions.Options;

namespace OtpFailover.Abuse;

/// <summary>
/// The email channel's limit: <see cref="AbuseOptions.EmailPerAddress"/>, counted in the address's usage row under
/// each verification's id (so a send repeated after a crash counts once, and 20 racing starts for one address get
/// exactly the limit's emails). Email has no shared budget: <c>group</c> is not used.
/// </summary>
public sealed class EmailAllowance(UsageRows rows, IOptions<AbuseOptions> options) : ISendAllowance
{
    private UsageLimit Limit => UsageLimit.Of(nameof(AbuseOptions.EmailPerAddress), options.Value.EmailPerAddress, LimitKind.EmailPerAddress);

    public Task<LimitDecision> CheckAsync(string recipient, string group, CancellationToken cancellationToken) =>
        rows.CheckAsync(UsageEntity.EmailPartition(recipient), UsageColumn.Emails, Limit, cancellationToken);

    public Task<LimitDecision> TryTakeAsync(string recipient, string group, string verificationId, DateTimeOffset at, CancellationToken cancellationToken) =>
        rows.TryAppendAsync(
            new UsageSubject(UsageEntity.EmailPartition(recipient), [Limit]),
            UsageColumn.Emails,
            verificationId,
            cancellationToken);

    public Task ReleaseAsync(string recipient, string group, string verificationId, DateTimeOffset countedAt, CancellationToken cancellationToken) =>
        rows.ForgetBestEffortAsync(UsageEntity.EmailPartition(recipient), UsageColumn.Emails, verificationId);
}
