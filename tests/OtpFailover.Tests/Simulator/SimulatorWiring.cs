using OtpFailover.Tests.Infrastructure;
using OtpFailover.Tests.Sms;
using OtpFailover.Tests.WhatsApp;

namespace OtpFailover.Tests.Simulator;

/// <summary>The app and the simulator set up to talk to each other with the tests' own provider secrets.</summary>
internal static class SimulatorWiring
{
    /// <summary>The simulator's settings that make it accept the app's calls and sign its own (plus a short delivery delay).</summary>
    public static Dictionary<string, string?> SimulatorSettings() => new()
    {
        ["Simulator:WhatsAppAccessToken"] = TestSecrets.AccessToken,
        ["Simulator:WhatsAppPhoneNumberId"] = TestSecrets.PhoneNumberId,
        ["Simulator:WhatsAppAppSecret"] = TestSecrets.AppSecret,
        ["Simulator:AcsAccessKey"] = Convert.ToBase64String(AcsStandIns.AccessKey),
        ["Simulator:AcsWebhookKey"] = TestSecrets.SmsWebhookKey,
        ["Simulator:DeliveryDelay"] = "00:00:00.300",
    };

    /// <summary>The app with the real WhatsApp and ACS clients pointed at the simulator at <paramref name="simulator"/>.</summary>
    public static Task<TestApp> StartAppAgainstAsync(Uri simulator) =>
        TestApp.StartAsync(services: s =>
        {
            WhatsAppStandIns.UseCloudApi(s, simulator);
            AcsStandIns.UseAcs(s, new Dictionary<string, string?>
            {
                ["Sms:ConnectionString"] = $"endpoint={simulator};accesskey={Convert.ToBase64String(AcsStandIns.AccessKey)}",
                ["Sms:From"] = "+18005550100",
                ["Sms:WebhookKey"] = TestSecrets.SmsWebhookKey,
            });
        });
}
