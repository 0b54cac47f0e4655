namespace OtpFailover.Channels;

/// <summary>What a provider's webhook call came to; the Functions app answers it over HTTP.</summary>
public enum WebhookOutcome
{
    /// <summary>Authenticated and read: <see cref="WebhookResult.Summary"/> says what it changed (200).</summary>
    Applied,

    /// <summary>Not authenticated (no valid signature or key): nothing changed (401).</summary>
    Unauthorized,

    /// <summary>A subscription handshake refused (403).</summary>
    Forbidden,

    /// <summary>Authenticated, but not a body this endpoint reads (400).</summary>
    Invalid,

    /// <summary>A subscription handshake accepted: answer <see cref="WebhookResult.Text"/> as plain text (200).</summary>
    Challenge,

    /// <summary>An Event Grid subscription validation: answer its code (200, <c>{ "validationResponse": … }</c>).</summary>
    Validation,

    /// <summary>A CloudEvents webhook validation: allow <see cref="WebhookResult.Text"/> as the origin (200, <c>WebHook-Allowed-Origin</c>).</summary>
    AllowedOrigin,
}

/// <param name="Detail">For a refusal: why, for the caller (no secret, no code, no number).</param>
/// <param name="Text">The handshake's challenge, validation code or allowed origin.</param>
public sealed record WebhookResult(WebhookOutcome Outcome, string? Detail = null, WebhookSummary? Summary = null, string? Text = null)
{
    public static WebhookResult Applied(WebhookSummary summary) => new(WebhookOutcome.Applied, Summary: summary);

    public static WebhookResult Unauthorized(string detail) => new(WebhookOutcome.Unauthorized, detail);

    public static WebhookResult Forbidden(string detail) => new(WebhookOutcome.Forbidden, detail);

    public static WebhookResult Invalid(string detail) => new(WebhookOutcome.Invalid, detail);

    public static WebhookResult Challenge(string challenge) => new(WebhookOutcome.Challenge, Text: challenge);

    public static WebhookResult Validation(string code) => new(WebhookOutcome.Validation, Text: code);

    public static WebhookResult AllowedOrigin(string origin) => new(WebhookOutcome.AllowedOrigin, Text: origin);
}
