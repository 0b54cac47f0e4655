using System.ComponentModel.DataAnnotations;
using OtpFailover.Channels;
using OtpFailover.Configuration;

namespace OtpFailover.WhatsApp;

/// <summary>
/// The <c>WhatsApp</c> configuration section: Meta's WhatsApp Cloud API. The channel is on when
/// <see cref="PhoneNumberId"/> is set; then the token, secrets and template are required.
/// </summary>
public sealed class WhatsAppOptions
{
    public const string SectionName = "WhatsApp";

    [Required(ErrorMessage = "WhatsApp:BaseUrl is required.")]
    [Url(ErrorMessage = "WhatsApp:BaseUrl must be an absolute URL.")]
    public string BaseUrl { get; set; } = "https://graph.facebook.com";

    [RegularExpression(@"^v[0-9]{1,3}\.0\z", ErrorMessage = "WhatsApp:ApiVersion must look like v24.0.")]
    public string ApiVersion { get; set; } = "v24.0";

    /// <summary>The business phone number's id in Meta's WhatsApp Manager (not the number itself).</summary>
    [RegularExpression(@"^[0-9]{1,32}\z", ErrorMessage = "WhatsApp:PhoneNumberId must be the numeric phone number id from WhatsApp Manager.")]
    public string? PhoneNumberId { get; set; }

    /// <summary>A system user's permanent access token with <c>whatsapp_business_messaging</c>.</summary>
    public string? AccessToken { get; set; }

    /// <summary>The Meta app's secret: status webhooks are signed with it.</summary>
    public string? AppSecret { get; set; }

    /// <summary>The token you type into Meta's webhook setup; the subscription handshake must echo it.</summary>
    public string? VerifyToken { get; set; }

    /// <summary>The approved authentication template (category AUTHENTICATION, copy-code button).</summary>
    [RegularExpression(@"^[a-z0-9_]{1,512}\z", ErrorMessage = "WhatsApp:TemplateName must be lower-case letters, digits and underscores, as Meta names templates.")]
    public string TemplateName { get; set; } = "verification_code";

    [RegularExpression(TemplateLanguagePattern, ErrorMessage = "WhatsApp:TemplateLanguage must be a template language code such as en_US or de.")]
    public string TemplateLanguage { get; set; } = "en_US";

    /// <summary>
    /// The languages the template is approved in (Meta's codes, comma-separated: <c>en_US, es, pt_BR, hi</c>). A
    /// verification's locale picks the first that matches it (<c>pt-BR</c>: <c>pt_BR</c>, then <c>pt</c>); otherwise
    /// <see cref="TemplateLanguage"/>. Empty: always <see cref="TemplateLanguage"/>.
    /// </summary>
    public string? TemplateLanguages { get; set; }

    /// <summary>
    /// The template language for a verification's locale: the most specific approved one (<c>zh-Hant-TW</c>:
    /// <c>zh_Hant_TW</c>, <c>zh_TW</c>, <c>zh_Hant</c>, <c>zh</c>), else any approved one in the same language (<c>pt</c>
    /// gets <c>pt_BR</c> rather than English), else <see cref="TemplateLanguage"/>.
    /// </summary>
    public string TemplateLanguageFor(string? locale)
    {
        var approved = ParseLanguages(TemplateLanguages);
        if (string.IsNullOrEmpty(locale) || approved.Length == 0)
        {
            return TemplateLanguage;
        }

        var candidates = Channels.Locales.Fallbacks(locale).ToList();
        if (Channels.Locales.WithoutScript(locale) is { } regional)
        {
            candidates.Insert(1, regional);
        }

        foreach (var code in candidates.Select(tag => tag.Replace('-', '_')))
        {
            if (approved.FirstOrDefault(a => string.Equals(a, code, StringComparison.OrdinalIgnoreCase)) is { } match)
            {
                return match;
            }
        }

        var language = candidates[^1];
        return approved.FirstOrDefault(a => a.Split('_')[0].Equals(language, StringComparison.OrdinalIgnoreCase)) ?? TemplateLanguage;
    }

    internal static string[] ParseLanguages(string? languages) => SettingList.Split(languages).ToArray();

    /// <summary>A template language code as Meta writes it: <c>en_US</c>, <c>de</c>.</summary>
    internal const string TemplateLanguagePattern = @"^[a-z]{2,3}(_[A-Z]{2})?\z";

    /// <summary>How long one request to the Graph API may take before its outcome counts as unknown.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00", ErrorMessage = "WhatsApp:RequestTimeout must be between {1} and {2}.")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts for one send when WhatsApp answers with a transient error (rate limits, 5xx).</summary>
    [Range(1, 5, ErrorMessage = "WhatsApp:MaxSendAttempts must be between {1} and {2}.")]
    public int MaxSendAttempts { get; set; } = 3;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(PhoneNumberId);
}
