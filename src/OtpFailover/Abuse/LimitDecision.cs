namespace OtpFailover.Abuse;

/// <summary>The limits a request can meet. Each has its own problem type and setting.</summary>
public enum LimitKind
{
    /// <summary><see cref="AbuseOptions.StartsPerNumber"/> or <see cref="AbuseOptions.StartsPerNumberDaily"/>.</summary>
    StartsPerNumber,

    StartsPerClient,

    FailedChecksPerNumber,

    SmsPerNumber,

    /// <summary>The calling region's hourly SMS budget.</summary>
    SmsPerCountry,

    /// <summary><see cref="AbuseOptions.EmailPerAddress"/>.</summary>
    EmailPerAddress,
}

public static class LimitKinds
{
    /// <summary>Whether the limit is a shared budget (a region's SMS), not one recipient's own limit.</summary>
    public static bool IsSharedBudget(this LimitKind kind) => kind == LimitKind.SmsPerCountry;
}

/// <summary>Whether a request fits the limits; when not, which limit (and setting) refused it and when to retry.</summary>
public sealed record LimitDecision(bool Allowed, LimitKind? Limit = null, string? Setting = null, TimeSpan RetryAfter = default)
{
    public static readonly LimitDecision Allow = new(true);

    /// <summary>A refusal; the wait is rounded up to whole seconds (as <c>Retry-After</c> carries it), at least one.</summary>
    public static LimitDecision Refuse(LimitKind limit, string setting, TimeSpan retryAfter) =>
        new(false, limit, setting, TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds))));
}
