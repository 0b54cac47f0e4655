using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using OtpFailover.Channels;
using OtpFailover.Storage;
using OtpFailover.Verifications;

namespace OtpFailover.Callbacks;

/// <summary>
/// One status event as the customer's backend receives it. It never holds the code or the phone number.
/// </summary>
/// <param name="Id">The event's id, also in <c>webhook-id</c>: the same on every retry, so a receiver drops repeats by it.</param>
/// <param name="Sequence">The event's place in the verification's life: events go out in this order, one at a time.</param>
/// <param name="Channel">The channel the event is about; for an ending, the channel the code went by last.</param>
/// <param name="Reason">Why a failover happened (<c>timeout</c>, <c>failed</c>, <c>send_error</c>, <c>requested</c>, <c>unverified</c>).</param>
public sealed record CallbackEvent(
    string Id,
    string Type,
    string VerificationId,
    int Sequence,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ClientReference,
    DateTimeOffset OccurredAt,
    Channel Channel,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public byte[] ToUtf8Json() => JsonSerializer.SerializeToUtf8Bytes(this, Json);
}

/// <summary>Which of a verification's timeline events are called back, and how each reads.</summary>
public static class CallbackEvents
{
    /// <summary>The event types a callback receiver gets, in the timeline's names.</summary>
    public static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal)
    {
        TimelineEventTypes.WhatsAppSent,
        TimelineEventTypes.WhatsAppDelivered,
        TimelineEventTypes.WhatsAppRead,
        TimelineEventTypes.Failover,
        TimelineEventTypes.SmsSent,
        TimelineEventTypes.SmsDelivered,
        TimelineEventTypes.Approved,
        TimelineEventTypes.Expired,
        TimelineEventTypes.Failed,
        TimelineEventTypes.Canceled,
        TimelineEventTypes.MaxAttemptsReached,
    };

    public static string IdFor(string verificationId, int sequence) =>
        string.Create(CultureInfo.InvariantCulture, $"evt_{verificationId}_{sequence}");

    /// <summary>The callback for the timeline event at <paramref name="sequence"/>, or null when it is not called back.</summary>
    internal static CallbackEvent? From(VerificationEntity row, int sequence, TimelineEvent timelineEvent)
    {
        if (!Types.Contains(timelineEvent.Type))
        {
            return null;
        }

        // A channel's own event names its channel; a failover, the channel it moved to (rows from before plans: SMS).
        var channel = timelineEvent.Type == TimelineEventTypes.Failover
            ? timelineEvent.Channel ?? Channel.Sms
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
    internal static bool EndsWithCallbackEvent(VerificationEntity row) =>
        row.CallbackUrl is not null && row.ReadTimeline() is { Count: > 0 } timeline && Types.Contains(timeline[^1].Type);
}
