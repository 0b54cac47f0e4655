using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OtpFailover.Abuse;
using OtpFailover.Retention;
using OtpFailover.Sms;
using OtpFailover.Storage;
using OtpFailover.Tests.Deployment;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;

namespace OtpFailover.Tests.Configuration;

/// <summary>
/// App Service, Bicep and Core Tools on Windows hand the app settings that are present but empty. Every setting the
/// app binds, empty, must mean "not set": the default, never a start-up failure.
/// </summary>
public sealed class EmptySettingsTests
{
    private static Dictionary<string, string?> EveryBoundSettingEmpty() =>
        InfrastructureTests.BoundSettings()
            .Where(s => !s.EndsWith("__", StringComparison.Ordinal))
            .ToDictionary(s => s.Replace("__", ":", StringComparison.Ordinal), _ => (string?)"");

    private static Dictionary<string, string?> Host(Dictionary<string, string?> settings)
    {
        foreach (var (name, value) in StartupValidationTests.GoodSettings())
        {
            settings[name] = value;
        }

        return settings;
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value);

    [Fact]
    public void EverySettingTheAppBinds_Empty_IsItsDefault()
    {
        var settings = Host(EveryBoundSettingEmpty());
        Assert.True(settings.Count > 40, $"only {settings.Count} settings");
        using var host = StartupValidationTests.BuildFunctionsHost(settings);

        var verification = host.Services.GetRequiredService<IOptions<VerificationOptions>>().Value;
        Assert.Equal(Json(new VerificationOptions { CodeKey = verification.CodeKey }), Json(verification));
        Assert.Equal(Json(new StorageOptions()), Json(host.Services.GetRequiredService<IOptions<StorageOptions>>().Value));
        Assert.Equal(Json(new WhatsAppOptions()), Json(host.Services.GetRequiredService<IOptions<WhatsAppOptions>>().Value));
        Assert.Equal(Json(new SmsOptions()), Json(host.Services.GetRequiredService<IOptions<SmsOptions>>().Value));
        Assert.Equal(Json(new AbuseOptions()), Json(host.Services.GetRequiredService<IOptions<AbuseOptions>>().Value));
        Assert.Equal(Json(new RetentionOptions()), Json(host.Services.GetRequiredService<IOptions<RetentionOptions>>().Value));
    }

    [Theory]
    [InlineData("WhatsApp:AccessToken")]
    [InlineData("Verification:CodeKey")]
    [InlineData("Sms:WebhookKey")]
    public void AKeyVaultReferenceThePlatformCouldNotResolve_StopsStartUp_NamingTheSetting(string setting)
    {
        var settings = Host(EveryBoundSettingEmpty());
        settings["WhatsApp:PhoneNumberId"] = "106540352242922";
        settings["WhatsApp:AccessToken"] = "token";
        settings["WhatsApp:AppSecret"] = "secret";
        settings["WhatsApp:VerifyToken"] = "verify";
        settings["Sms:ConnectionString"] = "endpoint=https://contoso.communication.azure.com/;accesskey=c2VjcmV0LWtleS0wMTIzNDU2Nzg5";
        settings["Sms:From"] = "+18005550100";
        settings["Sms:WebhookKey"] = "a-webhook-key-of-enough-length";
        settings[setting] = "@Microsoft.KeyVault(SecretUri=https://kv-otp.vault.azure.net/secrets/missing)";
        using var host = StartupValidationTests.BuildFunctionsHost(settings);

        var section = setting[..setting.IndexOf(':', StringComparison.Ordinal)];
        Action read = section switch
        {
            "WhatsApp" => () => _ = host.Services.GetRequiredService<IOptions<WhatsAppOptions>>().Value,
            "Sms" => () => _ = host.Services.GetRequiredService<IOptions<SmsOptions>>().Value,
            _ => () => _ = host.Services.GetRequiredService<IOptions<VerificationOptions>>().Value,
        };

        var failure = Assert.Throws<OptionsValidationException>(read);
        Assert.Contains($"{setting} is a Key Vault reference the platform could not resolve", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEmptyEndpoint_BesideAConnectionString_LeavesSmsOnTheConnectionString()
    {
        // The defect the deploy review found: an empty Sms__Endpoint stopped the worker ("must be an absolute URL").
        var settings = Host(EveryBoundSettingEmpty());
        settings["Sms:ConnectionString"] = "endpoint=https://contoso.communication.azure.com/;accesskey=c2VjcmV0LWtleS0wMTIzNDU2Nzg5";
        settings["Sms:From"] = "+18005550100";
        settings["Sms:WebhookKey"] = "a-webhook-key-of-enough-length";
        using var host = StartupValidationTests.BuildFunctionsHost(settings);

        var sms = host.Services.GetRequiredService<IOptions<SmsOptions>>().Value;

        Assert.True(sms.IsConfigured);
        Assert.Null(sms.Endpoint);
        Assert.IsType<AcsSmsSender>(host.Services.GetRequiredService<ISmsCodeSender>());
    }
}
