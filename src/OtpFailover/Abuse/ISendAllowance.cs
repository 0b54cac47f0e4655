using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Channels;

namespace OtpFailover.Abuse;

/// <summary>
/// What a metered channel's sends are counted against, registered as a keyed service under its <see cref="Channel"/>:
/// the recipient's own limit and, for some, a budget its group shares (SMS: the number, and its region's hour).
/// </summary>
/// <remarks>
/// <c>recipient</c> is the keyed index of the number or the address; <c>group</c> is what the shared budget is kept
/// by (SMS: the number's region). A send is recorded under its verification id, so a repeated call counts once.
/// </remarks>
public interface ISendAllowance
{
    /// <summary>Whether a send now would fit (nothing is recorded).</summary>
    Task<LimitDecision> CheckAsync(string recipient, string group, CancellationToken cancellationToken);

    /// <summary>Records a send for a verification, if its limits allow it.</summary>
    Task<LimitDecision> TryTakeAsync(string recipient, string group, string verificationId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Gives back a send the provider refused (nothing went out). Best effort.</summary>
    Task ReleaseAsync(string recipient, string group, string verificationId, DateTimeOffset countedAt, CancellationToken cancellationToken);
}

/// <summary>Finds the allowance a channel's sends are counted against; none for a channel that is not metered.</summary>
public sealed class SendAllowances(IServiceProvider services)
{
    public ISendAllowance? For(Channel channel) => services.GetKeyedService<ISendAllowance>(channel);
}
