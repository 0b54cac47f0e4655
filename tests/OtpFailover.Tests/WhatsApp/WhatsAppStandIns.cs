using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.DependencyInjection;
using OtpFailover.Simulator;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.WhatsApp;

namespace OtpFailover.Tests.WhatsApp;

public static class WhatsAppStandIns
{
    public static Task<WhatsAppCloudApiStandIn> StartGraphApiAsync() =>
        new WhatsAppCloudApiStandIn(TestSecrets.AccessToken, TestSecrets.PhoneNumberId, TestSecrets.ApiVersion, TestSecrets.TemplateName, TestSecrets.TemplateLanguage).StartAsync();

    /// <summary>
    /// Registers the real Cloud API sender (typed client, resilience handler) the way the app does, pointed at
    /// <paramref name="baseUrl"/>, in place of whatever sender was registered.
    /// </summary>
    public static void UseCloudApi(IServiceCollection services, Uri baseUrl, TimeSpan? requestTimeout = null, int? maxSendAttempts = null, string? templateLanguages = null)
    {
        var settings = TestSecrets.WhatsAppSettings(baseUrl, requestTimeout);
        settings["WhatsApp:TemplateLanguages"] = templateLanguages;
        if (maxSendAttempts is { } attempts)
        {
            settings["WhatsApp:MaxSendAttempts"] = attempts.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        foreach (var descriptor in services.Where(d => d.ServiceType == typeof(IWhatsAppCodeSender) || d.ServiceType == typeof(Microsoft.Extensions.Options.IOptions<WhatsAppOptions>)).ToList())
        {
            services.Remove(descriptor);
        }

        services.AddWhatsAppCloudApi(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
    }
}
