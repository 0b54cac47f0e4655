using System.Text.Json.Serialization;

namespace OtpFailover.Channels;

/// <summary>Where one channel's send of a verification stands.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ChannelSendState>))]
public enum ChannelSendState
{
    /// <summary>The channel is next: the send is being made (or was, by a run that left no outcome yet).</summary>
    [JsonStringEnumMemberName("sending")]
    Sending,

    /// <summary>The provider refused for now (throttled, unavailable): the same send is tried again.</summary>
    [JsonStringEnumMemberName("deferred")]
    Deferred,

    /// <summary>The provider took the message (or, where it de-duplicates, perhaps did): see <see cref="ChannelSend.Delivery"/>.</summary>
    [JsonStringEnumMemberName("sent")]
    Sent,

    /// <summary>Nothing went out: the provider or a limit refused.</summary>
    [JsonStringEnumMemberName("refused")]
    Refused,

    /// <summary>A provider that cannot de-duplicate may or may not have sent it: it is never asked again.</summary>
    [JsonStringEnumMemberName("unknown")]
    Unknown,
}

/// <summary>
/// One channel's send of a verification, as its row keeps it: every channel has the same bookkeeping, so the row holds
/// a list of these rather than a set of columns per channel.
/// </summary>
public sealed record ChannelSend
{
    public required Channel Channel { get; init; }

    public ChannelSendState State { get; init; } = ChannelSendState.Sending;

    /// <summary>Why the verification moved to this channel; null for the plan's first.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public FailoverReason? Reason { get; init; }

    /// <summary>When the verification moved to this channel.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>
    /// For a <see cref="RepeatSafety.SendOnce"/> channel, when the provider was (about to be) asked: a run that finds it
    /// set without a message id cannot tell whether the code went out, and does not ask again.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? AttemptedAt { get; init; }

    /// <summary>For a metered channel (SMS), when the usage limits let this send go out; counted once.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? AllowedAt { get; init; }

    /// <summary>For a <see cref="RepeatSafety.Repeatable"/> channel, the repeatability pair every attempt sends.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Guid? RepeatabilityRequestId { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? RepeatabilityFirstSent { get; init; }

    /// <summary>
    /// The keyed hash of the provider's message id (<c>Codes/ProviderMessageKeys</c>), never the id itself: a WhatsApp
    /// message id is the Base64 of the recipient's number and a random part. Empty when the provider gave none, or the
    /// outcome is unknown but as good as sent. Rows written before 1.4 hold the id; retention deletes them.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MessageId { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? SentAt { get; init; }

    /// <summary>What the provider's status reports say; statuses only move forward.</summary>
    public DeliveryStatus Delivery { get; init; } = DeliveryStatus.None;

    /// <summary>Why the send was refused (safe to show: no code, no number).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Detail { get; init; }

    /// <summary>The code may have reached the user by this channel: it was sent, or a run that may have sent it left no outcome.</summary>
    [JsonIgnore]
    public bool MayHaveSent => MessageId is not null || RepeatabilityRequestId is not null || (AttemptedAt is not null && State != ChannelSendState.Refused);

    /// <summary>The provider confirmed delivery (delivered or read): the user has the code.</summary>
    [JsonIgnore]
    public bool Confirmed => Delivery is DeliveryStatus.Delivered or DeliveryStatus.Read;
}
