using Microsoft.Extensions.Options;

namespace OtpFailover.WhatsApp;

/// <summary>Once the channel is on (a phone number id is set), everything it needs must be set too.</summary>
public sealed partial class WhatsAppOptionsValidator : IValidateOptions<WhatsAppOptions>
{
    public ValidateOptionsResult Validate(string? name, WhatsAppOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var missing = new List<string>();
        foreach (var language in WhatsAppOptions.ParseLanguages(options.TemplateLanguages).Where(l => !TemplateLanguageCode().IsMatch(l)))
        {
            missing.Add($"WhatsApp:TemplateLanguages entry '{language}' is not a template language code such as en_US, es or pt_BR.");
        }

        if (!options.IsConfigured)
        {
            return missing.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(missing);
        }

        if (string.IsNullOrWhiteSpace(options.AccessToken))
        {
            missing.Add("WhatsApp:AccessToken is required when WhatsApp:PhoneNumberId is set (a system user's token with whatsapp_business_messaging).");
        }

        if (string.IsNullOrWhiteSpace(options.AppSecret))
        {
            missing.Add("WhatsApp:AppSecret is required when WhatsApp:PhoneNumberId is set: status webhooks are verified with it.");
        }

        if (string.IsNullOrWhiteSpace(options.VerifyToken))
        {
            missing.Add("WhatsApp:VerifyToken is required when WhatsApp:PhoneNumberId is set: Meta's webhook subscription echoes it.");
        }

        return missing.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(missing);
    }

    [System.Text.RegularExpressions.GeneratedRegex(WhatsAppOptions.TemplateLanguagePattern, System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex TemplateLanguageCode();
}
