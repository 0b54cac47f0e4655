using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

/// <summary>One channel's delivery status as the row has it.</summary>
public sealed record ChannelDelivery(Channel Channel, DeliveryStatus Delivery);

/// <summary>What the row says now, for the workflow to act on instead of a signal that may be late or lost.</summary>
public sealed record VerificationSnapshot(VerificationStatus Status, bool ResendRequested, IReadOnlyList<ChannelDelivery> Deliveries)
{
    public DeliveryStatus DeliveryOf(Channel channel) => Deliveries.FirstOrDefault(d => d.Channel == channel)?.Delivery ?? DeliveryStatus.None;
}

/// <summary>
/// What the send activity did. <see cref="Status"/> is the verification's status after it. <see cref="Unknown"/>: the
/// code may have gone out or not (the activity itself failed after its retries, or a provider that cannot de-duplicate
/// left no outcome).
/// </summary>
/// <param name="TryAgainAfter">The provider refused for now (throttled, unavailable): the same send may go through after this long.</param>
/// <param name="PreviousConfirmed">
/// Nothing was sent because the row says the previous channel confirmed delivery (its signal is late): no failover happened.
/// </param>
public sealed record SendActivityResult(bool Sent, VerificationStatus Status, string? Detail = null, bool Unknown = false, TimeSpan? TryAgainAfter = null, bool PreviousConfirmed = false);

/// <summary>
/// The orchestration's custom status: where the verification's sending stands, as <c>{channel}.{stage}</c>
/// (<c>whatsapp.awaiting_delivery</c>). Never a code or number.
/// </summary>
public static class WorkflowPhases
{
    public const string Sending = "sending";
    public const string AwaitingDelivery = "awaiting_delivery";
    public const string Confirmed = "confirmed";

    /// <summary>The plan's last channel sent the code: waiting for the user.</summary>
    public const string Sent = "sent";

    /// <summary>The last channel could not send, but an earlier one had delivered the code: waiting for the user.</summary>
    public const string Failed = "failed";

    /// <summary>The provider refused for now (throttled, unavailable): waiting to try again.</summary>
    public const string Deferred = "deferred";

    /// <summary>The last channel's send may or may not have gone out: waiting for the user.</summary>
    public const string OutcomeUnknown = "outcome_unknown";

    public const string SendingWhatsApp = "whatsapp.sending";
    public const string AwaitingWhatsAppDelivery = "whatsapp.awaiting_delivery";
    public const string WhatsAppConfirmed = "whatsapp.confirmed";
    public const string SendingSms = "sms.sending";
    public const string SmsSent = "sms.sent";
    public const string SmsFailed = "sms.failed";
    public const string SmsDeferred = "sms.deferred";
    public const string SmsOutcomeUnknown = "sms.outcome_unknown";

    public static string Of(Channel channel, string stage) => $"{WireNames.Of(channel)}.{stage}";
}

/// <summary>Sends the code on <paramref name="Channel"/>, recording why the verification moved to it.</summary>
/// <param name="Reason">Why the verification moved to this channel; null for the plan's first.</param>
/// <param name="After">The channel before it in the plan.</param>
/// <param name="UnlessConfirmedBy">
/// Set when the wait for <paramref name="After"/>'s confirmation timed out: the activity decides by the row, in the
/// same write that records the failover. Confirmed by this rule: nothing is sent. Failed, or a resend recorded: the
/// failover takes that reason. (Reading the row in an activity of its own cost a round trip through the queues on
/// every timed-out wait.)
/// </param>
/// <param name="NotBefore">The deadline whose timer led here: the activity waits for it if the timer fired early.</param>
/// <param name="Last">The plan's last channel: a provider that refuses for now is waited for (there is nothing to move to).</param>
public sealed record SendCodeRequest(string VerificationId, Channel Channel, FailoverReason? Reason = null, string? Detail = null, Channel? After = null, FailoverWhen? UnlessConfirmedBy = null, DateTimeOffset? NotBefore = null, bool Last = true);

/// <param name="SettleFromRow">
/// The last channel's send failed or left no outcome: the row says whether it may have sent (then the verification
/// waits for the user) or cannot have (then it fails, unless another channel delivered the code).
/// </param>
/// <param name="Channel">The channel whose send it settles (the plan's last).</param>
/// <param name="NotBefore">The deadline whose timer led here: the activity waits for it if the timer fired early.</param>
public sealed record EndVerificationRequest(string VerificationId, string? Detail = null, bool SettleFromRow = false, DateTimeOffset? NotBefore = null, Channel? Channel = null);

/// <summary>
/// The activities' names, as the Functions app registers them. They are stored in history, so they are written out
/// rather than taken with <c>nameof</c>: renaming a class must not rename an activity a running instance calls.
/// </summary>
public static class ActivityNames
{
    public const string SendCode = "SendCode";
    public const string Expire = "Expire";
    public const string Fail = "Fail";
    public const string ReadVerification = "ReadVerification";
}
