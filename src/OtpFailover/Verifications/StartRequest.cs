using OtpFailover.Abuse;
using OtpFailover.Callbacks;
using OtpFailover.Channels;
using OtpFailover.EmailAddresses;
using OtpFailover.PhoneNumbers;

namespace OtpFailover.Verifications;

/// <summary>A start, as the API received it: the number already normalised and allowed by the policy.</summary>
/// <param name="ClientSubjects">The clients the start counts against (see <see cref="ClientKeys"/>): its IP address, its key, or both.</param>
/// <param name="IdempotencyKey">The caller's <c>Idempotency-Key</c>: a repeat (same number, same clients) returns the verification it started.</param>
/// <param name="CallbackUrl">Where this verification's status events go (already allowed by <see cref="CallbackUrlPolicy"/>); null: <c>Callbacks:Url</c>.</param>
/// <param name="Locale">The user's language, normalised (<see cref="Locales"/>); null: <c>Verification:DefaultLocale</c>.</param>
/// <param name="Channels">The start's own channel plan (configured channels, in the caller's order); null: by country, else <c>Verification:Channels</c>.</param>
/// <param name="Email">The user's email address, for the email channel (already allowed: not a disposable domain); null: no email channel in the plan.</param>
public sealed record StartRequest(PhoneNumber PhoneNumber, string? ClientReference = null, IReadOnlyList<string>? ClientSubjects = null, string? IdempotencyKey = null, Uri? CallbackUrl = null, string? Locale = null, IReadOnlyList<Channel>? Channels = null, EmailAddress? Email = null)
{
    public IReadOnlyList<string> ClientSubjects { get; init; } = ClientSubjects ?? [];
}

public enum StartOutcome
{
    Started,

    /// <summary>A start with the same idempotency key (for the same number) started this verification earlier.</summary>
    Replayed,

    RateLimited,

    /// <summary>A start with the same idempotency key is still being made; try again in a moment.</summary>
    IdempotencyKeyInUse,
}

public sealed record StartResult(StartOutcome Outcome, Verification? Verification = null, LimitDecision? Limit = null);
