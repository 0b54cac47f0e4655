using Microsoft.Extensions.Options;

namespace OtpFailover.Verifications;

/// <summary>Checks what data annotations cannot: the key's encoding and how the durations relate.</summary>
public sealed class VerificationOptionsValidator : IValidateOptions<VerificationOptions>
{
    public const int MinimumKeyBytes = 32;

    public ValidateOptionsResult Validate(string? name, VerificationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var section = VerificationOptions.SectionName;

        if (!string.IsNullOrEmpty(options.CodeKey) && !IsKeyLongEnough(options.CodeKey))
        {
            failures.Add($"{section}:{nameof(VerificationOptions.CodeKey)} must be Base64 of at least {MinimumKeyBytes} random bytes (for example `openssl rand -base64 32`).");
        }

        if (options.WhatsAppDeliveryTimeout >= options.CodeLifetime)
        {
            failures.Add($"{section}:{nameof(VerificationOptions.WhatsAppDeliveryTimeout)} ({options.WhatsAppDeliveryTimeout}) must be shorter than {section}:{nameof(VerificationOptions.CodeLifetime)} ({options.CodeLifetime}), or the SMS could never go out.");
        }

        if (options.FailoverIfUnverifiedAfter is { } unverified && unverified >= options.CodeLifetime)
        {
            failures.Add($"{section}:{nameof(VerificationOptions.FailoverIfUnverifiedAfter)} ({unverified}) must be shorter than {section}:{nameof(VerificationOptions.CodeLifetime)} ({options.CodeLifetime}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsKeyLongEnough(string value)
    {
        var buffer = new byte[(value.Length * 3 / 4) + 3];
        return Convert.TryFromBase64String(value, buffer, out var written) && written >= MinimumKeyBytes;
    }
}
