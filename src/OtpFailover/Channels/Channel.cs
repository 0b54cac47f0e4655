using System.Text.Json.Serialization;

namespace OtpFailover.Channels;

/// <summary>A way to reach the user with the code.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Channel>))]
public enum Channel
{
    [JsonStringEnumMemberName("whatsapp")]
    WhatsApp,

    [JsonStringEnumMemberName("sms")]
    Sms,

    [JsonStringEnumMemberName("email")]
    Email,
}

/// <summary>A message's delivery statuses, as providers report them, in their order: a status never moves back.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DeliveryStatus>))]
public enum DeliveryStatus
{
    [JsonStringEnumMemberName("none")]
    None = 0,

    [JsonStringEnumMemberName("sent")]
    Sent = 1,

    [JsonStringEnumMemberName("delivered")]
    Delivered = 2,

    [JsonStringEnumMemberName("read")]
    Read = 3,

    /// <summary>Terminal; only reachable before delivery.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed = 4,
}

/// <summary>Why a verification moved to the next channel of its plan.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FailoverReason>))]
public enum FailoverReason
{
    /// <summary>The channel did not confirm delivery within its wait (<c>Verification:WhatsAppDeliveryTimeout</c>, <c>Verification:SmsDeliveryTimeout</c>).</summary>
    [JsonStringEnumMemberName("timeout")]
    Timeout,

    /// <summary>The channel's provider reported the message as failed.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,

    /// <summary>The channel refused the send (its provider, or a limit), or its outcome is unknown and it cannot be asked again.</summary>
    [JsonStringEnumMemberName("send_error")]
    SendError,

    /// <summary>The caller asked for the next channel (resend).</summary>
    [JsonStringEnumMemberName("requested")]
    Requested,

    /// <summary>Delivered on the channel but not verified within <c>Verification:FailoverIfUnverifiedAfter</c>.</summary>
    [JsonStringEnumMemberName("unverified")]
    Unverified,
}

/// <summary>Which delivery status counts as "the user has the code" and stops the move to the next channel.</summary>
public enum FailoverWhen
{
    /// <summary><c>delivered</c> or <c>read</c> stops the failover.</summary>
    Delivered,

    /// <summary>Only <c>read</c> stops the failover (on WhatsApp, users who turned read receipts off will also get the next channel).</summary>
    Read,
}

public static class FailoverWhenExtensions
{
    /// <summary>Whether a channel's <paramref name="status"/> means the user has the code, by this rule.</summary>
    public static bool IsConfirmedBy(this FailoverWhen rule, DeliveryStatus status) => rule switch
    {
        FailoverWhen.Read => status == DeliveryStatus.Read,
        _ => status is DeliveryStatus.Delivered or DeliveryStatus.Read,
    };
}
