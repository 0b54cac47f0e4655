using System.Text.Json.Serialization;
using OtpFailover.Verifications;

namespace OtpFailover.Http;

/// <param name="ClientIp">The visitor's IP address, so starts can be limited per client (IPv6 counts by its /64).</param>
/// <param name="ClientKey">Any other key the starts should be limited by (a session, a device); counted as well as <paramref name="ClientIp"/>.</param>
/// <param name="CallbackUrl">Where this verification's signed status events go, instead of <c>Callbacks:Url</c>; its host must be in <c>Callbacks:AllowedHosts</c>.</param>
/// <param name="Locale">The user's language (BCP 47, e.g. <c>pt-BR</c>): the SMS text's and the WhatsApp template's; default <c>Verification:DefaultLocale</c>.</param>
public sealed record StartVerificationRequest(string? PhoneNumber, string? ClientReference, string? ClientIp = null, string? ClientKey = null, string? CallbackUrl = null, string? Locale = null);

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
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ClientReference,
    int AttemptsUsed,
    int AttemptsRemaining,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    IReadOnlyList<TimelineEvent> Timeline)
{
    public static VerificationResource From(Verification verification, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(verification);
        return new(
            verification.Id,
            verification.EffectiveStatus(now),
            verification.MaskedPhoneNumber,
            verification.Channel,
            verification.ClientReference,
            verification.AttemptsUsed,
            verification.AttemptsRemaining,
            verification.CreatedAt,
            verification.ExpiresAt,
            verification.Timeline);
    }
}
