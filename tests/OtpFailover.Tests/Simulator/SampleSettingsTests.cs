using Microsoft.Extensions.Configuration;
using OtpFailover.AzureCommunication;
using OtpFailover.Simulator;
using OtpFailover.Sms;

namespace OtpFailover.Tests.Simulator;

/// <summary>The sample settings a local run copies must point at the simulator with the simulator's own secrets.</summary>
public sealed class SampleSettingsTests
{
    private static IConfigurationSection Sample() => new ConfigurationBuilder()
        .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "local.settings.sample.json"))
        .Build()
        .GetSection("Values");

    [Fact]
    public void TheSampleSettings_UseTheSimulatorsDefaults()
    {
        var sample = Sample();
        var simulator = new SimulatorOptions();

        Assert.Equal(SimulatorApp.DefaultUrl, sample["WhatsApp__BaseUrl"]);
        Assert.Equal(simulator.WhatsAppPhoneNumberId, sample["WhatsApp__PhoneNumberId"]);
        Assert.Equal(simulator.WhatsAppAccessToken, sample["WhatsApp__AccessToken"]);
        Assert.Equal(simulator.WhatsAppAppSecret, sample["WhatsApp__AppSecret"]);
        Assert.Equal(simulator.WhatsAppTemplateName, sample["WhatsApp__TemplateName"]);
        Assert.Equal(simulator.WhatsAppTemplateLanguage, sample["WhatsApp__TemplateLanguage"]);
        Assert.Equal(simulator.AcsWebhookKey, sample["Sms__WebhookKey"]);
        Assert.True(AcsConnectionString.TryParse(sample["Sms__ConnectionString"], out var acs));
        Assert.Equal(new Uri(SimulatorApp.DefaultUrl + "/"), acs.Endpoint);
        Assert.Equal(Convert.FromBase64String(simulator.AcsAccessKey), acs.AccessKey);
        Assert.Equal("http://localhost:7071", simulator.FunctionAppUrl);
    }

    [Fact]
    public void TheSampleSettings_HoldNoEmptyValue()
    {
        // Core Tools on Windows hands an empty local setting to the worker as an empty environment variable; optional
        // settings are documented in the README instead of listed empty here.
        var empty = Sample().GetChildren().Where(s => string.IsNullOrWhiteSpace(s.Value)).Select(s => s.Key).ToList();

        Assert.True(empty.Count == 0, $"empty in local.settings.sample.json: {string.Join(", ", empty)}");
    }
}
