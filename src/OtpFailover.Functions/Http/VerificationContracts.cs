using System.Text.Json.Serialization;
using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.Functions.Http;

/// <param name="ClientIp">The visitor's IP address, so starts can be limited per client (IPv6 counts by its /64).</param>
/// <param name="ClientKey">Any other key the starts should be limited by (a session, a device); counted as well as <paramref name="ClientIp"/>.</param>
/// <param name="CallbackUrl">Where this verification's signed status events go, instead of <c>Callbacks:Url</c>; its host must be in <c>Callbacks:AllowedHosts</c>.</param>
/// <param name="Locale">The user's language (BCP 47, e.g. <c>pt-BR</c>): the SMS text's and the WhatsApp template's; default <c>Verification:DefaultLocale</c>.</param>
/// <param name="Channels">This verification's channels in the order to try them (configured ones only); default: the number's country's list, else <c>Verification:Channels</c>.</param>
public sealed record StartVerificationRequest(string? PhoneNumber, string? ClientReference, string? ClientIp = null, string? ClientKey = null, string? CallbackUrl = null, string? Locale = null, IReadOnlyList<string?>? Channels = null, string? Email = null);

public sealed record CheckCodeRequest(string? Code);

/// <summary>The answer to a start: where to look, and until when the code is good.</summary>
public sealed record VerificationStarted(string Id, VerificationStatus Status, Channel Channel, DateTimeOffset ExpiresAt);

public sealed record CheckApproved(string Id, VerificationStatus Status);

/// <summary>A verification as <c>GET /api/verifications/{id}</c> shows it: the number masked, never the code.</summary>
public sealed record VerificationResource(
    string Id,
    VerificationStatus Status,
    string PhoneNumber,
    Channel Channel,
    IReadOnlyList<ChannelProgress> Channels,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ClientReference,
    int AttemptsUsed,
    int AttemptsRemaining,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    IReadOnlyList<TimelineEvent> Timeline,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Email = null)
{
    public static VerificationResource From(Verification verification, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(verification);
        return new(
            verification.Id,
            verification.EffectiveStatus(now),
            verification.MaskedPhoneNumber,
            verification.Channel,
            ChannelProgress.Of(verification),
            verification.ClientReference,
            verification.AttemptsUsed,
            verification.AttemptsRemaining,
            verification.CreatedAt,
            verification.ExpiresAt,
            verification.Timeline,
            verification.MaskedEmail);
    }
}

/// <summary>Where one channel of a verification's plan stands.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ChannelProgressState>))]
public enum ChannelProgressState
{
    /// <summary>Not tried (yet): an earlier channel is in use, or the verification ended before it.</summary>
    [JsonStringEnumMemberName("planned")]
    Planned,

    [JsonStringEnumMemberName("sending")]
    Sending,

    /// <summary>The provider refused for now (throttled, unavailable): it is tried again.</summary>
    [JsonStringEnumMemberName("deferred")]
    Deferred,

    [JsonStringEnumMemberName("sent")]
    Sent,

    [JsonStringEnumMemberName("delivered")]
    Delivered,

    [JsonStringEnumMemberName("read")]
    Read,

    /// <summary>The provider reported the message undelivered.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,

    /// <summary>Nothing went out: the provider or a limit refused.</summary>
    [JsonStringEnumMemberName("refused")]
    Refused,

    /// <summary>The provider's answer was lost: the message may or may not have gone out.</summary>
    [JsonStringEnumMemberName("unknown")]
    Unknown,
}

/// <param name="Detail">Why it was refused, when it was (safe to show: no code, no number).</param>
public sealed record ChannelProgress(
    Channel Channel,
    ChannelProgressState State,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Detail = null)
{
    public static IReadOnlyList<ChannelProgress> Of(Verification verification)
    {
        ArgumentNullException.ThrowIfNull(verification);
        return [.. verification.Plan.Select(channel => verification.SendOn(channel) is { } send && !NeverTried(verification, send)
            ? new ChannelProgress(channel, StateOf(send), send.State == ChannelSendState.Refused ? send.Detail : null)
            : new ChannelProgress(channel, ChannelProgressState.Planned))];
    }

    /// <summary>The verification ended while this channel's send was being prepared, before anything could go out.</summary>
    private static bool NeverTried(Verification verification, ChannelSend send) =>
        verification.Status != VerificationStatus.Pending && send.State == ChannelSendState.Sending && !send.MayHaveSent;

    private static ChannelProgressState StateOf(ChannelSend send) => (send.State, send.Delivery) switch
    {
        (_, DeliveryStatus.Read) => ChannelProgressState.Read,
        (_, DeliveryStatus.Delivered) => ChannelProgressState.Delivered,
        (_, DeliveryStatus.Failed) => ChannelProgressState.Failed,
        (ChannelSendState.Sent, _) => ChannelProgressState.Sent,
        (ChannelSendState.Deferred, _) => ChannelProgressState.Deferred,
        (ChannelSendState.Refused, _) => ChannelProgressState.Refused,
        (ChannelSendState.Unknown, _) => ChannelProgressState.Unknown,
        _ => ChannelProgressState.Sending,
    };
}
