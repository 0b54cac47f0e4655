using System.Text.Json.Serialization;
using OtpFailover.Channels;

namespace OtpFailover.Verifications;

[JsonConverter(typeof(JsonStringEnumConverter<VerificationStatus>))]
public enum VerificationStatus
{
    [JsonStringEnumMemberName("pending")]
    Pending,

    [JsonStringEnumMemberName("approved")]
    Approved,

    [JsonStringEnumMemberName("canceled")]
    Canceled,

    [JsonStringEnumMemberName("expired")]
    Expired,

    /// <summary>No channel could deliver the code.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,

    [JsonStringEnumMemberName("max_attempts_reached")]
    MaxAttemptsReached,
}

public static class VerificationStatusExtensions
{
    public static bool IsEnded(this VerificationStatus status) => status != VerificationStatus.Pending;
}

/// <summary>The timeline's event types, as the API shows them.</summary>
public static class TimelineEventTypes
{
    public const string Created = "created";
    public const string WhatsAppSent = "whatsapp.sent";
    public const string WhatsAppDelivered = "whatsapp.delivered";
    public const string WhatsAppRead = "whatsapp.read";
    public const string WhatsAppFailed = "whatsapp.failed";
    public const string Failover = "failover";
    public const string SmsSent = "sms.sent";

    /// <summary>The SMS provider refused for now (throttled, unavailable): the SMS is tried again.</summary>
    public const string SmsDeferred = "sms.deferred";
    public const string SmsDelivered = "sms.delivered";
    public const string SmsFailed = "sms.failed";
    public const string CheckFailed = "check.failed";
    public const string Approved = "approved";
    public const string Canceled = "canceled";
    public const string Expired = "expired";
    public const string Failed = "failed";
    public const string MaxAttemptsReached = "max_attempts_reached";

    /// <summary>A channel's own event: <c>whatsapp.sent</c>, <c>sms.delivered</c>, <c>sms.deferred</c>.</summary>
    public static string Of(Channel channel, string stage) => $"{WireNames.Of(channel)}.{stage}";

    /// <summary>A channel's provider refused for now (throttled, unavailable): its send is tried again.</summary>
    public static string DeferredOn(Channel channel) => Of(channel, "deferred");

    /// <summary>The event a send or a delivery status report records: <c>whatsapp.sent</c>, <c>sms.failed</c>.</summary>
    public static string Of(Channel channel, DeliveryStatus status) => Of(channel, WireNames.Of(status));

    /// <summary>The channel a channel's own event is about, if it is one.</summary>
    public static Channel? ChannelOf(string type) =>
        type.IndexOf('.', StringComparison.Ordinal) is > 0 and var dot && ChannelNames.TryParse(type[..dot], out var channel) ? channel : null;
}

/// <summary>One step in a verification's life. <see cref="Detail"/> never holds a code or a phone number.</summary>
/// <param name="Channel">On a <c>failover</c>: the channel the verification moved to.</param>
public sealed record TimelineEvent(
    string Type,
    DateTimeOffset At,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Detail = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Channel? Channel = null);

/// <summary>A verification as the store holds it, with the phone number still encrypted.</summary>
public sealed record Verification
{
    public required string Id { get; init; }

    public required VerificationStatus Status { get; init; }

    public required Channel Channel { get; init; }

    public required string MaskedPhoneNumber { get; init; }

    /// <summary>The start's email address, masked; null when it gave none.</summary>
    public string? MaskedEmail { get; init; }

    public string? ClientReference { get; init; }

    public required int CodeLength { get; init; }

    public required int MaxAttempts { get; init; }

    public required int AttemptsUsed { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The channels in the order they are tried.</summary>
    public IReadOnlyList<Channel> Plan { get; init; } = [];

    /// <summary>The channels tried so far, each with where its send stands.</summary>
    public IReadOnlyList<Channels.ChannelSend> Sends { get; init; } = [];

    public Channels.ChannelSend? SendOn(Channel channel) => Sends.FirstOrDefault(s => s.Channel == channel);

    public bool ResendRequested { get; init; }

    public required IReadOnlyList<TimelineEvent> Timeline { get; init; }

    public int AttemptsRemaining => Math.Max(0, MaxAttempts - AttemptsUsed);

    /// <summary>The status a caller should see: a pending verification past its lifetime is expired.</summary>
    public VerificationStatus EffectiveStatus(DateTimeOffset now) =>
        Status == VerificationStatus.Pending && now >= ExpiresAt ? VerificationStatus.Expired : Status;
}
