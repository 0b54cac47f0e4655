using Microsoft.Extensions.Options;

namespace OtpFailover.Abuse;

/// <summary>
/// The number's budget of wrong codes across all its verifications (<see cref="AbuseOptions.FailedChecksPerNumber"/>),
/// counted in the number's usage row.
/// </summary>
public sealed class WrongCodeBudget(UsageRows rows, IOptions<AbuseOptions> options)
{
    private RateLimitRule Rule => options.Value.FailedChecksPerNumber;

    private UsageLimit Limit => UsageLimit.Of(nameof(AbuseOptions.FailedChecksPerNumber), Rule, LimitKind.FailedChecksPerNumber);

    /// <summary>
    /// Records a wrong code in the number's budget, before it counts on its verification, so that a start that reads
    /// the number now already sees it. Refused when the budget is spent (a race the verification's own gate lost).
    /// </summary>
    public Task<LimitDecision> TryRecordFailedCheckAsync(string phoneIndex, string checkId, CancellationToken cancellationToken) =>
        rows.TryAppendAsync(new UsageSubject(UsageEntity.NumberPartition(phoneIndex), [Limit]), UsageColumn.FailedChecks, checkId, cancellationToken);

    /// <summary>
    /// Takes back a wrong code that did not count (its verification ended first). Best effort, and it never throws:
    /// one it cannot take back counts until its window passes.
    /// </summary>
    public Task ForgetFailedCheckAsync(string phoneIndex, string checkId) =>
        rows.ForgetBestEffortAsync(UsageEntity.NumberPartition(phoneIndex), UsageColumn.FailedChecks, checkId);

    /// <summary>
    /// Whether the number's wrong-code budget has a place left now, counting the wrong codes recorded against it that
    /// have not reached their verification's row yet (nothing is recorded). A right code must pass this too: otherwise
    /// a burst of guesses would be judged by the row alone, which does not see the wrong codes still on their way.
    /// </summary>
    public Task<LimitDecision> CheckFailedChecksAsync(string phoneIndex, CancellationToken cancellationToken) =>
        rows.CheckAsync(UsageEntity.NumberPartition(phoneIndex), UsageColumn.FailedChecks, Limit, cancellationToken);

    /// <summary>The refusal of a number whose wrong-code budget is spent, with how long until a place frees.</summary>
    public async Task<LimitDecision> RefuseFailedChecksAsync(string phoneIndex, CancellationToken cancellationToken)
    {
        var usage = await rows.FindAsync<UsageEntity>(UsageEntity.NumberPartition(phoneIndex), UsageEntity.UsageRowKey, cancellationToken);
        var wait = UsageLog.Parse(usage?.FailedChecks).WaitBeforeNext(Rule, rows.Time.GetUtcNow()) ?? TimeSpan.FromSeconds(1);
        return Limit.Refuse(wait);
    }
}
