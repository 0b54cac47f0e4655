namespace OtpFailover.WhatsApp;

/// <summary>How the Cloud API's <c>error.code</c> values are handled (Meta's error code reference).</summary>
public static class WhatsAppErrorCodes
{
    public const int Undeliverable = 131026;

    /// <summary>Refusals that name a rate limit: nothing was sent, and trying again later may work.</summary>
    private static readonly HashSet<int> RetryableRefusals = [4, 80007, 130429, 131056];

    /// <summary>Errors that do not prove the message was refused: it may have gone out.</summary>
    private static readonly HashSet<int> OutcomeUnknown = [1, 2];

    private static readonly Dictionary<int, string> Names = new()
    {
        [1] = "unknown",
        [2] = "service_unavailable",
        [4] = "app_rate_limit",
        [80007] = "waba_rate_limit",
        [130429] = "throughput_limit",
        [131056] = "pair_rate_limit",
        [Undeliverable] = "undeliverable",
        [131049] = "ecosystem_block",
        [132000] = "template_parameter_mismatch",
        [132001] = "template_missing",
        [132015] = "template_paused",
        [100] = "invalid_parameter",
        [190] = "access_token_expired",
    };

    /// <summary>Errors the operator must fix (token, template); the user still gets the SMS.</summary>
    private static readonly HashSet<int> Operator = [100, 190, 132000, 132001, 132015];

    /// <summary>True when the error proves nothing was sent and a later attempt may succeed (a rate limit).</summary>
    public static bool IsRetryableRefusal(int code) => RetryableRefusals.Contains(code);

    /// <summary>True when the error does not prove the message was refused: repeating it could message the user twice.</summary>
    public static bool LeavesOutcomeUnknown(int code) => OutcomeUnknown.Contains(code);

    public static bool IsOperatorError(int code) => Operator.Contains(code);

    /// <summary>A timeline-safe detail such as <c>whatsapp_131026_undeliverable</c> (our words, never the provider's text).</summary>
    public static string Describe(int code) => $"whatsapp_{code}_{Names.GetValueOrDefault(code, "error")}";
}
