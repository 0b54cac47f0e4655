using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using OtpFailover.Configuration;

namespace OtpFailover.Callbacks;

/// <summary>Checks the key's format and the global URL at start-up, so a wrong setting stops the app, not a callback.</summary>
public sealed class CallbackOptionsValidator(IConfiguration configuration) : IValidateOptions<CallbackOptions>
{
    public const int MinimumKeyBytes = 24;
    public const int MaximumKeyBytes = 64;

    public ValidateOptionsResult Validate(string? name, CallbackOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var section = CallbackOptions.SectionName;
        if (options.Enabled)
        {
            if (CallbackSigner.TryDecodeKey(options.SigningKey!, out var key))
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
            }
            else
            {
                failures.Add($"{section}:{nameof(CallbackOptions.SigningKey)} must be 'whsec_' and Base64 of {MinimumKeyBytes} to {MaximumKeyBytes} random bytes (for example 'whsec_' + `openssl rand -base64 32`).");
            }
        }

        var wantsCallbacks = !string.IsNullOrWhiteSpace(options.Url) || !string.IsNullOrWhiteSpace(options.AllowedHosts);
        if (wantsCallbacks && !options.Enabled)
        {
            failures.Add($"{section}:{nameof(CallbackOptions.SigningKey)} is required when {section}:{nameof(CallbackOptions.Url)} or {section}:{nameof(CallbackOptions.AllowedHosts)} is set: callbacks are always signed.");
        }

        if (!string.IsNullOrWhiteSpace(options.Url))
        {
            switch (CallbackUrlPolicy.CheckShape(options.Url, HostEnvironment.IsDevelopment(configuration), out _))
            {
                case CallbackUrlProblem.Malformed:
                    failures.Add($"{section}:{nameof(CallbackOptions.Url)} must be an absolute https URL without user information or a fragment.");
                    break;
                case CallbackUrlProblem.NotHttps:
                    failures.Add($"{section}:{nameof(CallbackOptions.Url)} must be https (http only where {HostEnvironment.EnvironmentSetting} is Development).");
                    break;
            }
        }

        foreach (var host in CallbackUrlPolicy.ParseHosts(options.AllowedHosts).Where(h => !h.Valid))
        {
            failures.Add($"{section}:{nameof(CallbackOptions.AllowedHosts)} entry '{host.Host}' is not a host name with an optional port (use 'hooks.example.com', 'hooks.example.com:8443', '*.example.com', '[2001:db8::1]:8443'; Unicode names are read as punycode).");
        }

        if (options.FirstRetryInterval > options.MaximumRetryInterval)
        {
            failures.Add($"{section}:{nameof(CallbackOptions.FirstRetryInterval)} must not be longer than {section}:{nameof(CallbackOptions.MaximumRetryInterval)}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
