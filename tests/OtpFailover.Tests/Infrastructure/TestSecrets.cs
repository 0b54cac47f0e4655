using OtpFailover.WhatsApp;

namespace OtpFailover.Tests.Infrastructure;

/// <summary>Made-up credentials the tests and the stand-ins share. The app secret is PROTOCOLS.md's test vector's.</summary>
public static class TestSecrets
{
    public const string AppSecret = "meta-app-secret-for-tests";
    public const string VerifyToken = "verify-token-for-tests";
    public const string AccessToken = "EAAG-access-token-for-tests";
    public const string PhoneNumberId = "106540352242922";
    public const string ApiVersion = "v24.0";
    public const string TemplateName = "verification_code";
    public const string TemplateLanguage = "en_US";
    public const string SmsWebhookKey = "event-grid-key-for-tests-0123456789";

    public static WhatsAppOptions WhatsAppOptions(Uri? baseUrl = null) => new()
    {
        BaseUrl = (baseUrl ?? new Uri("http://127.0.0.1:9/")).ToString(),
        ApiVersion = ApiVersion,
        PhoneNumberId = PhoneNumberId,
        AccessToken = AccessToken,
        AppSecret = AppSecret,
        VerifyToken = VerifyToken,
        TemplateName = TemplateName,
        TemplateLanguage = TemplateLanguage,
    };

    /// <summary>The configuration section for <see cref="WhatsAppOptions(Uri?)"/>, for code that binds it.</summary>
    public static Dictionary<string, string?> WhatsAppSettings(Uri baseUrl, TimeSpan? requestTimeout = null) => new()
    {
        ["WhatsApp:BaseUrl"] = baseUrl.ToString(),
        ["WhatsApp:ApiVersion"] = ApiVersion,
        ["WhatsApp:PhoneNumberId"] = PhoneNumberId,
        ["WhatsApp:AccessToken"] = AccessToken,
        ["WhatsApp:AppSecret"] = AppSecret,
        ["WhatsApp:VerifyToken"] = VerifyToken,
        ["WhatsApp:TemplateName"] = TemplateName,
        ["WhatsApp:TemplateLanguage"] = TemplateLanguage,
        ["WhatsApp:RequestTimeout"] = (requestTimeout ?? TimeSpan.FromSeconds(10)).ToString(),
    };
}
