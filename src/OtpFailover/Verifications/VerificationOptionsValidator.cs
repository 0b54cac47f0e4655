using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using OtpFailover.Channels;
using OtpFailover.Configuration;

namespace OtpFailover.Verifications;

/// <summary>
/// Checks what data annotations cannot: the key's encoding and how the durations relate, and that the public sample
/// key (it is in this repository for anyone to read) is only ever used where <c>AZURE_FUNCTIONS_ENVIRONMENT</c> is
/// <c>Development</c>.
/// </summary>
public sealed class VerificationOptionsValidator(IConfiguration configuration) : IValidateOptions<VerificationOptions>
{
    public const int MinimumKeyBytes = 32;

    /// <summary>The code key in <c>local.settings.sample.json</c>: public, so never good outside local development.</summary>
    public const string PublicSampleCodeKey = "ZGV2ZWxvcG1lbnQtb25seS1rZXktZG8tbm90LXVzZS1pbi1henVyZQ==";

    public const string EnvironmentSetting = HostEnvironment.EnvironmentSetting;

    public ValidateOptionsResult Validate(string? name, VerificationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var section = VerificationOptions.SectionName;

        if (!string.IsNullOrEmpty(options.CodeKey) && !IsKeyLongEnough(options.CodeKey))
        {
            failures.Add($"{section}:{nameof(VerificationOptions.CodeKey)} must be Base64 of at least {MinimumKeyBytes} random bytes (for example `openssl rand -base64 32`).");
        }

        if (options.CodeKey == PublicSampleCodeKey && !HostEnvironment.IsDevelopment(configuration))
        {
            failures.Add($"{section}:{nameof(VerificationOptions.CodeKey)} is the public sample key from local.settings.sample.json; it is only accepted when {EnvironmentSetting} is Development. Set your own (for example `openssl rand -base64 32`), kept in Key Vault.");
        }

        if (!Locales.TryNormalize(options.DefaultLocale, out _))
        {
            failures.Add($"{section}:{nameof(VerificationOptions.DefaultLocale)} must be a BCP 47 language tag such as en, es or pt-BR.");
        }

        var configured = new List<Channel>();
        if (!ChannelNames.TryParseList(SettingList.Split(options.Channels), out var channels, out var channelsError))
        {
            failures.Add($"{section}:{nameof(VerificationOptions.Channels)}: {channelsError}");
        }
        else
        {
            configured.AddRange(channels);
        }

        foreach (var (region, list) in options.ChannelsByCountry)
        {
            var setting = $"{section}:{nameof(VerificationOptions.ChannelsByCountry)}:{region}";
            // 001: the non-geographic numbers (+800, +882, +883, …), as Abuse:AllowedCountries names them.
            if (region != "001" && (region.Length != 2 || !PhoneNumbers.PhoneNumber.IsKnownRegion(region.ToUpperInvariant())))
            {
                var hint = region.Equals("UK", StringComparison.OrdinalIgnoreCase) ? " (the United Kingdom is GB)" : string.Empty;
                failures.Add($"{setting}: the key must be a country's ISO 3166-1 alpha-2 code, such as US or BR{hint}, or 001 for non-geographic numbers.");
            }
            else if (!ChannelNames.TryParseList(SettingList.Split(list), out var countryChannels, out var countryError))
            {
                failures.Add($"{setting}: {countryError}");
            }
            else if (configured.Count > 0 && countryChannels.Where(c => !configured.Contains(c)).ToList() is { Count: > 0 } notConfigured)
            {
                failures.Add($"{setting}: {ChannelNames.Join(notConfigured)} is not in {section}:{nameof(VerificationOptions.Channels)}.");
            }
        }

        if (options.EmailDeliveryTimeout is { } emailWait && emailWait >= options.CodeLifetime)
        {
            failures.Add($"{section}:{nameof(VerificationOptions.EmailDeliveryTimeout)} ({emailWait}) must be shorter than {section}:{nameof(VerificationOptions.CodeLifetime)} ({options.CodeLifetime}).");
        }

        if (options.SmsDeliveryTimeout is { } smsWait && smsWait >= options.CodeLifetime)
        {
            failures.Add($"{section}:{nameof(VerificationOptions.SmsDeliveryTimeout)} ({smsWait}) must be shorter than {section}:{nameof(VerificationOptions.CodeLifetime)} ({options.CodeLifetime}).");
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
