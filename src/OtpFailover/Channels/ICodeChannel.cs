using Microsoft.Extensions.DependencyInjection;
using OtpFailover.EmailAddresses;
using OtpFailover.PhoneNumbers;

namespace OtpFailover.Channels;

/// <summary>The repeatability pair a <see cref="RepeatSafety.Repeatable"/> channel sends with every attempt of one send.</summary>
public sealed record Repeatability(Guid RequestId, DateTimeOffset FirstSent);

/// <summary>Who a channel reaches: the verification's phone number, or its email address.</summary>
public enum RecipientKind
{
    PhoneNumber,
    EmailAddress,
}

/// <summary>A code to send on a channel: everything any channel needs, so one activity serves them all.</summary>
/// <param name="Repeatability">For a <see cref="RepeatSafety.Repeatable"/> channel: made once and stored before the first attempt.</param>
/// <param name="Email">The verification's email address, for a channel that reaches <see cref="RecipientKind.EmailAddress"/>.</param>
public sealed record CodeDelivery(string VerificationId, PhoneNumber To, string Code, DateTimeOffset ExpiresAt, string? Locale, Repeatability? Repeatability, EmailAddress? Email = null);

/// <summary>
/// A way to reach the user with the code. Registered as a keyed service under its <see cref="Channels.Channel"/>;
/// the send activity's bookkeeping (claims, allowances, repeatability pairs, the outcome) is the same for every channel
/// and reads what differs from here.
/// </summary>
public interface ICodeChannel
{
    Channel Channel { get; }

    /// <summary>Whom it reaches: a verification without one (a start that gave no email address) is never planned on it.</summary>
    RecipientKind Recipient => RecipientKind.PhoneNumber;

    /// <summary>Whether a send whose outcome is unknown may be made again (the provider de-duplicates) or never.</summary>
    RepeatSafety Safety { get; }

    /// <summary>Sends count against the SMS limits (<c>Abuse:SmsPerNumber</c>, the per-country budgets): the channel costs per message and can be pumped.</summary>
    bool Metered { get; }

    /// <summary>False when no provider is configured: every send would be refused.</summary>
    bool IsConfigured { get; }

    /// <summary>
    /// Its provider reports delivery reliably (WhatsApp), so a message sent but never reported delivered most likely
    /// did not arrive. Where reports are optional or late (SMS), a message sent without a failed report may be in the
    /// user's hand, and a later channel's failure does not end the verification.
    /// </summary>
    bool ReportsDelivery { get; }

    /// <summary>
    /// The delivery statuses its provider reports after <see cref="DeliveryStatus.Sent"/> (WhatsApp: delivered, read,
    /// failed; SMS: delivered, failed): what its status webhook can record, and so what a callback receiver can hear.
    /// </summary>
    IReadOnlySet<DeliveryStatus> Reports { get; }

    /// <summary>Which of its delivery statuses means the user has the code.</summary>
    FailoverWhen ConfirmedBy { get; }

    /// <summary>
    /// When it is not the plan's last channel: how long the workflow waits for that confirmation before the next
    /// channel; null: no limit (only a failure, a refusal or a resend moves on).
    /// </summary>
    TimeSpan? ConfirmWithin { get; }

    /// <summary>
    /// The id the provider's status reports will name the message by, when it is known before the send (ACS Email names
    /// it by the request's operation id); null when only the provider's answer says (SMS, WhatsApp). Known ids are
    /// indexed before the provider is asked, so a report finds its verification even if every answer is lost.
    /// </summary>
    string? MessageIdFor(Repeatability pair) => null;

    /// <summary>Sends once, with the provider client's own retries; what it returns is final for this attempt.</summary>
    Task<ChannelSendResult> SendAsync(CodeDelivery delivery, CancellationToken cancellationToken);
}

/// <summary>Finds the channel registered for a <see cref="Channel"/> (a keyed <see cref="ICodeChannel"/>).</summary>
public sealed class CodeChannels(IServiceProvider services)
{
    public ICodeChannel For(Channel channel) =>
        services.GetKeyedService<ICodeChannel>(channel)
        ?? throw new InvalidOperationException($"No channel is registered for {channel}.");

    /// <summary>The channels this deployment has a registered <see cref="ICodeChannel"/> for, in the enum's order.</summary>
    public IReadOnlyList<Channel> Registered =>
        [.. Enum.GetValues<Channel>().Where(channel => services.GetKeyedService<ICodeChannel>(channel) is not null)];

    /// <summary>Whether <paramref name="channel"/>'s provider reports delivery reliably (see <see cref="ICodeChannel.ReportsDelivery"/>).</summary>
    public bool ReportsDelivery(Channel channel) => For(channel).ReportsDelivery;
}
