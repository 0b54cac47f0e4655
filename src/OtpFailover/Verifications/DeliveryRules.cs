using OtpFailover.Channels;

namespace OtpFailover.Verifications;

/// <summary>
/// The rules about where a verification's delivery stands, in one place: which status reports count, which wake the
/// workflow, which channel a resend moves to, and when no channel is left. Each channel states its own behaviour
/// (<see cref="ICodeChannel"/>); these rules read it from there.
/// </summary>
public sealed class DeliveryRules(CodeChannels channels)
{
    /// <summary>The detail of a verification that ended because no channel could deliver the code.</summary>
    public const string NoChannelDelivered = "no_channel_delivered";

    /// <summary>Statuses only move forward (sent, delivered, read), and failed only before delivery.</summary>
    public static bool IsAdvance(DeliveryStatus current, DeliveryStatus next) => (current, next) switch
    {
        (DeliveryStatus.Failed, _) => false,
        (_, DeliveryStatus.None) => false,
        (_, DeliveryStatus.Failed) => current <= DeliveryStatus.Sent,
        _ => next > current,
    };

    /// <summary>
    /// Only a failure and the first status that confirms delivery (by <paramref name="rule"/>) change what the
    /// orchestration does. Any other status goes on the timeline but would only cost the orchestration a turn, a queue
    /// message and history rows: <c>read</c> after <c>delivered</c> when delivered confirms, <c>delivered</c> when only
    /// <c>read</c> does. (<c>sent</c> is recorded by the send itself.)
    /// </summary>
    public static bool WakesTheWorkflow(FailoverWhen rule, DeliveryStatus previous, DeliveryStatus next) =>
        next == DeliveryStatus.Failed || (rule.IsConfirmedBy(next) && !rule.IsConfirmedBy(previous));

    /// <summary>
    /// Whether <paramref name="channel"/>'s provider reports <paramref name="status"/> (<see cref="ICodeChannel.Reports"/>;
    /// <c>sent</c> is every channel's, recorded by the send): a status it never reports changes nothing.
    /// </summary>
    public bool IsReported(Channel channel, DeliveryStatus status) =>
        status == DeliveryStatus.Sent || channels.For(channel).Reports.Contains(status);

    /// <summary>Whether a status report on <paramref name="channel"/> going from <paramref name="previous"/> to <paramref name="next"/> wakes the workflow.</summary>
    public bool WakesTheWorkflow(Channel channel, DeliveryStatus previous, DeliveryStatus next) =>
        WakesTheWorkflow(channels.For(channel).ConfirmedBy, previous, next);

    /// <summary>
    /// The channel a resend would move to: none when the verification is on its plan's last channel, when a resend is
    /// asked for already, or when the next channel has no provider.
    /// </summary>
    public Channel? NextChannelFor(VerificationEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        return entity.ResendRequestedAt is null && entity.NextChannel() is { } next && channels.For(next).IsConfigured ? next : null;
    }

    /// <summary>Whom <paramref name="channel"/> reaches: what its sends are counted against.</summary>
    public RecipientKind RecipientOf(Channel channel) => channels.For(channel).Recipient;

    /// <summary>
    /// The "no channel left" decision, for the plan's last channel whose send failed or was refused: nothing is left
    /// when no other channel may have put the code in the user's hand (see <see cref="VerificationEntity.AnotherChannelMayHaveReached"/>).
    /// </summary>
    public bool NoChannelLeft(VerificationEntity entity, Channel failed)
    {
        ArgumentNullException.ThrowIfNull(entity);
        return !entity.AnotherChannelMayHaveReached(failed, channels.ReportsDelivery);
    }

    /// <summary>
    /// Whether a reported failure leaves the verification nothing: it is on the plan's last channel, that one failed or
    /// was refused (this report, or before it), and no other channel may have put the code in the user's hand.
    /// </summary>
    public bool FailureLeavesNoChannel(VerificationEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        return entity.IsPending && entity.NextChannel() is null
            && entity.ReadSends() is [.., var last] && (last.Delivery == DeliveryStatus.Failed || last.State == ChannelSendState.Refused)
            && NoChannelLeft(entity, last.Channel);
    }
}
