using System.Globalization;
using OtpFailover.Callbacks;
using OtpFailover.Channels;

namespace OtpFailover.Verifications;

/// <summary>
/// Which of a verification's timeline events are called back, and how each reads: every registered channel's
/// <c>sent</c> and the confirmations its provider reports (<see cref="ICodeChannel.Reports"/>), a failover, and every
/// ending. A channel's <c>failed</c> is not: the failover (or the ending) that follows it says what it changed.
/// </summary>
public sealed class CallbackEvents
{
    public CallbackEvents(CodeChannels channels)
    {
        ArgumentNullException.ThrowIfNull(channels);
        var types = new HashSet<string>(StringComparer.Ordinal)
        {
            TimelineEventTypes.Failover,
            TimelineEventTypes.Approved,
            TimelineEventTypes.Expired,
            TimelineEventTypes.Failed,
            TimelineEventTypes.Canceled,
            TimelineEventTypes.MaxAttemptsReached,
        };
        foreach (var channel in channels.Registered)
        {
            types.Add(TimelineEventTypes.Of(channel, DeliveryStatus.Sent));
            foreach (var status in channels.For(channel).Reports.Where(s => s is DeliveryStatus.Delivered or DeliveryStatus.Read))
            {
                types.Add(TimelineEventTypes.Of(channel, status));
            }
        }

        Types = types;
    }

    /// <summary>The event types a callback receiver gets, in the timeline's names.</summary>
    public IReadOnlySet<string> Types { get; }

    public static string IdFor(string verificationId, int sequence) =>
        string.Create(CultureInfo.InvariantCulture, $"evt_{verificationId}_{sequence}");

    /// <summary>The callback for the timeline event at <paramref name="sequence"/>, or null when it is not called back.</summary>
    internal CallbackEvent? From(VerificationEntity row, int sequence, TimelineEvent timelineEvent)
    {
        if (!Types.Contains(timelineEvent.Type))
        {
            return null;
        }

        // A channel's own event names its channel; a failover, the channel it moved to (rows from before plans, whose
        // failover events do not say, had two channels: the last).
        var channel = timelineEvent.Type == TimelineEventTypes.Failover
            ? timelineEvent.Channel ?? row.PlanValue[^1]
            : TimelineEventTypes.ChannelOf(timelineEvent.Type) ?? row.ChannelValue;
        return new CallbackEvent(
            IdFor(row.Id, sequence),
            timelineEvent.Type,
            row.Id,
            sequence,
            row.ClientReference,
            timelineEvent.At,
            channel,
            timelineEvent.Type == TimelineEventTypes.Failover ? timelineEvent.Reason : null);
    }

    /// <summary>Whether a write that left <paramref name="row"/> as it is recorded an event its receiver should hear about.</summary>
    internal bool EndsWithCallbackEvent(VerificationEntity row) =>
        row.CallbackUrl is not null && row.ReadTimeline() is { Count: > 0 } timeline && Types.Contains(timeline[^1].Type);
}
