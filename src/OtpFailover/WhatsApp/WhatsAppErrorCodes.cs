namespace OtpFailover.WhatsApp;

/// <summary>How the Cloud API's <c>error.code</c> values are handled (Meta's error code reference).</summary>
public static class WhatsAppErrorCodes
{
    public const int Undeliverable = 131026;

    private static readonly HashSet<int> Transient = [1, 2, 4, 80007, 130429, 131056];

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

    public static bool IsTransient(int code) => Transient.Contains(code);

    public static bool IsOperatorError(int code) => Operator.Contains(code);

    /// <summary>A timeline-safe detail such as <c>whatsapp_131026_undeliverable</c> (our words, never the provider's text).</summary>
    public static string Describe(int code) => $"whatsapp_{code}_{Names.GetValueOrDefault(code, "error")}";
}
