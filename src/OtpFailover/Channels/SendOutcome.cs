namespace OtpFailover.Channels;

/// <summary>What a channel's provider said to a send.</summary>
public enum SendOutcome
{
    /// <summary>The provider accepted the message.</summary>
    Accepted,

    /// <summary>The provider refused it (nothing was sent): try the next channel.</summary>
    Rejected,

    /// <summary>
    /// The provider may or may not have sent it (a timeout, a dropped connection, a 5xx, a repeatability rejection).
    /// Where the provider de-duplicates (SMS), count it as sent; where it cannot (WhatsApp), never repeat it.
    /// </summary>
    Unknown,
}

/// <summary>A provider's answer to a send. <see cref="Detail"/> is safe to log and show: no code, no number.</summary>
/// <param name="RefusesRequest">
/// A refusal of the request itself (a validation error, a refused recipient): the same bytes sent earlier were
/// refused too. Other refusals (throttling, an outage, an open circuit) say only that this attempt sent nothing.
/// </param>
/// <param name="TryAgainAfter">
/// A refusal for now (throttled, unavailable, a circuit open): nothing was sent, and the same send may go through
/// after this long. Null for a refusal that waiting does not change.
/// </param>
public sealed record ChannelSendResult(SendOutcome Outcome, string? ProviderMessageId = null, string? Detail = null, bool RefusesRequest = false, TimeSpan? TryAgainAfter = null)
{
    public static ChannelSendResult Accepted(string? providerMessageId) => new(SendOutcome.Accepted, providerMessageId);

    public static ChannelSendResult Rejected(string detail, bool refusesRequest = false) => new(SendOutcome.Rejected, Detail: detail, RefusesRequest: refusesRequest);

    public static ChannelSendResult Unknown(string detail) => new(SendOutcome.Unknown, Detail: detail);
}
