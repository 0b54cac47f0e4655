using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OtpFailover.Channels;
using OtpFailover.Functions;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Configuration;

/// <summary>
/// Bad configuration stops the Functions app at start-up, with a message naming the setting. The host is the
/// Functions application builder the app's Program uses, because ValidateOnStart has silently done nothing in
/// Functions before (dotnet/runtime#96034).
/// </summary>
public sealed class StartupValidationTests
{
    private static readonly Dictionary<string, string?> Good = new()
    {
        // What the Functions host hands its worker; nothing listens there, and no test gets as far as connecting.
        ["Functions:Worker:HostEndpoint"] = "http://127.0.0.1:9",
        ["Functions:Worker:WorkerId"] = "test-worker",
        ["Functions:Worker:RequestId"] = "test-request",
        ["Functions:Worker:GrpcMaxMessageLength"] = "2147483647",
        ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
        ["Verification:CodeKey"] = Convert.ToBase64String(new byte[32]),
    };

    /// <summary>A copy of the smallest settings the Functions app starts with (the worker's own, storage, a code key).</summary>
    internal static Dictionary<string, string?> GoodSettings() => new(Good);

    [Theory]
    [InlineData("Verification:CodeLength", "3")]
    [InlineData("Verification:CodeLength", "11")]
    [InlineData("Verification:CodeLifetime", "00:00:30")]
    [InlineData("Verification:CodeLifetime", "02:00:00")]
    [InlineData("Verification:WhatsAppDeliveryTimeout", "00:00:05")]
    [InlineData("Verification:WhatsAppDeliveryTimeout", "00:16:00")]
    [InlineData("Verification:WhatsAppDeliveryTimeout", "00:12:00", "Verification:CodeLifetime", "00:10:00")]
    [InlineData("Verification:FailoverWhen", "Sometimes")]
    [InlineData("Verification:FailoverIfUnverifiedAfter", "00:00:05")]
    [InlineData("Verification:FailoverIfUnverifiedAfter", "00:10:00")]
    [InlineData("Verification:MaxCheckAttempts", "0")]
    [InlineData("Verification:MaxCheckAttempts", "21")]
    [InlineData("Verification:Brand", "Contoso 🚀")]
    [InlineData("Verification:Brand", "A brand name far too long for one SMS")]
    [InlineData("Verification:CodeKey", "")]
    [InlineData("Verification:CodeKey", "c2hvcnQ=")]
    [InlineData("Verification:CodeKey", "not base64 at all!")]
    [InlineData("Storage:TableName", "1-bad-name")]
    [InlineData("WhatsApp:AccessToken", "", "WhatsApp:PhoneNumberId", "106540352242922")]
    [InlineData("WhatsApp:AppSecret", "", "WhatsApp:PhoneNumberId", "106540352242922")]
    [InlineData("WhatsApp:VerifyToken", "", "WhatsApp:PhoneNumberId", "106540352242922")]
    [InlineData("WhatsApp:PhoneNumberId", "+15550783881")]
    [InlineData("WhatsApp:TemplateName", "Verification Code")]
    [InlineData("WhatsApp:TemplateLanguage", "english")]
    [InlineData("WhatsApp:ApiVersion", "24")]
    [InlineData("WhatsApp:BaseUrl", "not a url")]
    [InlineData("WhatsApp:RequestTimeout", "00:05:00")]
    [InlineData("WhatsApp:MaxSendAttempts", "0")]
    [InlineData("Sms:ConnectionString", "endpoint=https://contoso.communication.azure.com/")]
    [InlineData("Sms:From", "", "Sms:Endpoint", "https://contoso.communication.azure.com")]
    [InlineData("Sms:WebhookKey", "short", "Sms:Endpoint", "https://contoso.communication.azure.com")]
    [InlineData("Sms:Endpoint", "contoso")]
    [InlineData("Sms:From", "+0123")]
    [InlineData("Sms:WebOtpDomain", "https://app.contoso.com/")]
    [InlineData("Sms:MaxSendAttempts", "9")]
    [InlineData("Abuse:AllowedCountries", "US, UK")]
    [InlineData("Abuse:BlockedCountries", "XX")]
    [InlineData("Abuse:BlockedCountries", "USA")]
    [InlineData("Abuse:AllowedCountries", "DE", "Abuse:BlockedCountries", "de")]
    [InlineData("Abuse:AllowedNumberTypes", "Mobile, PremiumRate")]
    [InlineData("Abuse:AllowedNumberTypes", "Satellite")]
    [InlineData("Abuse:AllowedNumberTypes", "3")]
    [InlineData("Abuse:StartsPerNumber:Limit", "500")]
    [InlineData("Abuse:StartsPerNumber:Limit", "-1")]
    [InlineData("Abuse:SmsPerNumber:Window", "00:00:10")]
    [InlineData("Abuse:FailedChecksPerNumber:Window", "30.00:00:00")]
    [InlineData("Abuse:SmsPerCountryPerHour", "-1")]
    [InlineData("Abuse:SmsPerCountryPerHourByCountry:UK", "100")]
    [InlineData("Callbacks:SigningKey", "c2VjcmV0LWtleS13aXRob3V0LXRoZS1wcmVmaXgtMDEyMzQ1Njc4OQ==")]
    [InlineData("Callbacks:SigningKey", "whsec_c2hvcnQ=")]
    [InlineData("Callbacks:SigningKey", "", "Callbacks:Url", "https://hooks.example.com/otp")]
    [InlineData("Callbacks:SigningKey", "", "Callbacks:AllowedHosts", "hooks.example.com")]
    [InlineData("Callbacks:Url", "http://hooks.example.com/otp", "Callbacks:SigningKey", "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")]
    [InlineData("Callbacks:Url", "hooks.example.com/otp", "Callbacks:SigningKey", "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")]
    [InlineData("Callbacks:AllowedHosts", "hooks.example.com, *", "Callbacks:SigningKey", "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")]
    [InlineData("Callbacks:AllowedHosts", "https://hooks.example.com/", "Callbacks:SigningKey", "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")]
    [InlineData("Callbacks:RetryFor", "00:10:00")]
    [InlineData("Verification:DefaultLocale", "english")]
    [InlineData("Email:ManagedIdentityClientId", "11111111-1111-1111-1111-111111111111", "Sms:ManagedIdentityClientId", "22222222-2222-2222-2222-222222222222")]
    [InlineData("Email:From", "DoNotReply", "Email:Endpoint", "https://contoso.communication.azure.com")]
    [InlineData("Email:Endpoint", "http://contoso.communication.azure.com", "Email:From", "DoNotReply@contoso.example")]
    [InlineData("Verification:EmailDeliveryTimeout", "00:00:05")]
    [InlineData("Verification:Channels", "whatsapp, voice")]
    [InlineData("Verification:Channels", "sms, SMS")]
    [InlineData("Verification:Channels", ", ;")]
    [InlineData("Verification:ChannelsByCountry:UK", "sms")]
    [InlineData("Verification:ChannelsByCountry:USA", "sms")]
    [InlineData("Verification:ChannelsByCountry:US", "whatsapp", "Verification:Channels", "sms")]
    [InlineData("Verification:ChannelsByCountry:BR", "whatsapp, whatsapp")]
    [InlineData("Verification:SmsDeliveryTimeout", "00:00:05")]
    [InlineData("Verification:SmsDeliveryTimeout", "00:12:00", "Verification:CodeLifetime", "00:10:00")]
    [InlineData("WhatsApp:TemplateLanguages", "en_US, pt-BR")]
    [InlineData("Callbacks:FirstRetryInterval", "00:20:00")]
    public async Task ABadSetting_StopsStartUp_NamingTheSetting(string key, string value, string? otherKey = null, string? otherValue = null)
    {
        var settings = new Dictionary<string, string?>(Good) { [key] = value };
        if (key.StartsWith("WhatsApp:", StringComparison.Ordinal) && otherKey is not null)
        {
            // The channel is on: everything else it needs is set, but for the one setting under test.
            foreach (var (k, v) in Tests.Infrastructure.TestSecrets.WhatsAppSettings(new Uri("https://graph.facebook.com")))
            {
                settings[k] = v;
            }

            settings[key] = value;
        }

        if (key.StartsWith("Sms:", StringComparison.Ordinal))
        {
            // The channel is on: everything else it needs is set, but for the one setting under test.
            settings["Sms:ConnectionString"] = "endpoint=https://contoso.communication.azure.com/;accesskey=dGVzdC1hY2Nlc3Mta2V5LTAxMjM0NTY3ODlhYmNkZWY=";
            settings["Sms:From"] = "+18005550100";
            settings["Sms:WebhookKey"] = Tests.Infrastructure.TestSecrets.SmsWebhookKey;
            if (otherKey is not null)
            {
                settings.Remove("Sms:ConnectionString");
            }

            settings[key] = value;
        }

        if (otherKey is not null)
        {
            settings[otherKey] = otherValue;
        }

        using var host = BuildFunctionsHost(settings);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        Assert.True(error is OptionsValidationException or InvalidOperationException or AggregateException, error.ToString());
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThePublicSampleCodeKey_StopsStartUp_OutsideDevelopment()
    {
        var settings = new Dictionary<string, string?>(Good) { ["Verification:CodeKey"] = VerificationOptionsValidator.PublicSampleCodeKey };
        using var host = BuildFunctionsHost(settings);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        Assert.Contains("Verification:CodeKey", error.Message, StringComparison.Ordinal);
        Assert.Contains("public sample key", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Development", true)]
    [InlineData("development", true)]
    [InlineData("Production", false)]
    [InlineData("", false)]
    public void ThePublicSampleCodeKey_IsAcceptedOnlyInDevelopment(string environment, bool accepted)
    {
        var settings = new Dictionary<string, string?>(Good)
        {
            ["Verification:CodeKey"] = VerificationOptionsValidator.PublicSampleCodeKey,
            [VerificationOptionsValidator.EnvironmentSetting] = environment,
        };
        using var host = BuildFunctionsHost(settings);

        var read = () => host.Services.GetRequiredService<IOptions<VerificationOptions>>().Value;

        if (accepted)
        {
            Assert.Equal(VerificationOptionsValidator.PublicSampleCodeKey, read().CodeKey);
        }
        else
        {
            Assert.Contains("public sample key", Assert.Throws<OptionsValidationException>(read).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AbuseSettings_Bind_AndEmptyOnesMeanTheDefaults()
    {
        var settings = new Dictionary<string, string?>(Good)
        {
            ["Abuse:AllowedCountries"] = "",
            ["Abuse:BlockedCountries"] = "ru, KP",
            ["Abuse:AllowedNumberTypes"] = "",
            ["Abuse:StartsPerNumber:Limit"] = "3",
            ["Abuse:StartsPerNumber:Window"] = "00:10:00",
            ["Abuse:StartsPerClient:Limit"] = "0",
            ["Abuse:SmsPerCountryPerHourByCountry:GB"] = "250",
            ["Abuse:SmsPerCountryPerHour"] = "",
            ["Abuse:SmsPerNumber:Limit"] = "",
            ["Abuse:SmsPerNumber:Window"] = " ",
            ["Abuse:FailedChecksPerNumber"] = "",
            ["Verification:Brand"] = "",
        };
        using var host = BuildFunctionsHost(settings);

        var options = host.Services.GetRequiredService<IOptions<OtpFailover.Abuse.AbuseOptions>>().Value;

        Assert.Empty(options.AllowedCountrySet);
        Assert.Equal(["RU", "KP"], options.BlockedCountrySet.Order(StringComparer.Ordinal).Reverse());
        Assert.Equal([OtpFailover.PhoneNumbers.PhoneNumberKind.Mobile, OtpFailover.PhoneNumbers.PhoneNumberKind.FixedLineOrMobile], options.AllowedKindSet.Order());
        Assert.Equal((3, TimeSpan.FromMinutes(10)), (options.StartsPerNumber.Limit, options.StartsPerNumber.Window));
        Assert.False(options.StartsPerClient.IsOn);
        Assert.Equal(20, options.StartsPerNumberDaily.Limit);
        Assert.Equal(250, options.SmsBudgetFor("GB"));
        Assert.Equal(1000, options.SmsBudgetFor("DE"));
        Assert.Equal((3, TimeSpan.FromHours(1)), (options.SmsPerNumber.Limit, options.SmsPerNumber.Window));
        Assert.Equal(15, options.FailedChecksPerNumber.Limit);
        Assert.Equal("OtpFailover", host.Services.GetRequiredService<IOptions<VerificationOptions>>().Value.Brand);
    }

    [Fact]
    public void GoodSettings_BindToTheOptionsTheAppUses()
    {
        var settings = new Dictionary<string, string?>(Good)
        {
            ["Verification:CodeLength"] = "8",
            ["Verification:FailoverWhen"] = "Read",
            ["Verification:FailoverIfUnverifiedAfter"] = "00:02:00",
            ["Verification:Brand"] = "Contoso",
        };
        using var host = BuildFunctionsHost(settings);

        var options = host.Services.GetRequiredService<IOptions<VerificationOptions>>().Value;

        Assert.Equal(8, options.CodeLength);
        Assert.Equal(FailoverWhen.Read, options.FailoverWhen);
        Assert.Equal(TimeSpan.FromMinutes(2), options.FailoverIfUnverifiedAfter);
        Assert.Equal(TimeSpan.FromMinutes(10), options.CodeLifetime);
        Assert.Equal(TimeSpan.FromSeconds(60), options.WhatsAppDeliveryTimeout);
        Assert.Equal(5, options.MaxCheckAttempts);
        Assert.Equal("Contoso", options.Brand);
        Assert.NotNull(host.Services.GetRequiredService<VerificationService>());
    }

    [Fact]
    public async Task AConfiguredWhatsAppChannel_SendsThroughTheCloudApi_AndAnUnconfiguredOneRefuses()
    {
        var configured = new Dictionary<string, string?>(Good);
        foreach (var (k, v) in Tests.Infrastructure.TestSecrets.WhatsAppSettings(new Uri("https://graph.facebook.com")))
        {
            configured[k] = v;
        }

        using var withWhatsApp = BuildFunctionsHost(configured);
        using var without = BuildFunctionsHost(Good);

        Assert.IsType<OtpFailover.WhatsApp.WhatsAppCloudApiSender>(withWhatsApp.Services.GetRequiredService<OtpFailover.WhatsApp.IWhatsAppCodeSender>());
        var refusing = without.Services.GetRequiredService<OtpFailover.WhatsApp.IWhatsAppCodeSender>();
        Assert.IsType<OtpFailover.DependencyInjection.UnconfiguredChannelSender>(refusing);
        Assert.True(OtpFailover.PhoneNumbers.PhoneNumber.TryParse("+14155550123", out var to));
        Assert.Equal(SendOutcome.Rejected, (await refusing.SendAsync(new OtpFailover.WhatsApp.WhatsAppCodeMessage("x", to, "123456", DateTimeOffset.UtcNow), default)).Outcome);
    }

    [Fact]
    public void TheFunctionsHost_HasAChannelForEveryChannelName_AndPlansFromTheSettings()
    {
        var settings = new Dictionary<string, string?>(Good)
        {
            ["Verification:Channels"] = "sms, whatsapp",
            ["Verification:ChannelsByCountry:BR"] = "whatsapp",
            ["Verification:SmsDeliveryTimeout"] = "00:00:40",
        };
        using var host = BuildFunctionsHost(settings);
        var channels = host.Services.GetRequiredService<OtpFailover.Channels.CodeChannels>();

        // A Channel value without its keyed ICodeChannel would fail only when a plan reached it.
        Assert.All(Enum.GetValues<Channel>(), channel => Assert.Equal(channel, channels.For(channel).Channel));
        var planner = host.Services.GetRequiredService<ChannelPlanner>();
        Assert.Equal([Channel.Sms, Channel.WhatsApp], planner.For("US", null));
        Assert.Equal([Channel.WhatsApp], planner.For("BR", null));
        Assert.Equal(
            [new PlannedChannel(Channel.Sms, TimeSpan.FromSeconds(40), FailoverWhen.Delivered), new PlannedChannel(Channel.WhatsApp, TimeSpan.FromMinutes(1), FailoverWhen.Delivered)],
            planner.Steps(planner.For("US", null)));
        Assert.NotNull(host.Services.GetRequiredService<VerificationActivities>());
    }

    [Theory]
    [InlineData("Sms:ConnectionString", "endpoint=https://contoso.communication.azure.com/;accesskey=dGVzdC1hY2Nlc3Mta2V5LTAxMjM0NTY3ODlhYmNkZWY=")]
    [InlineData("Sms:Endpoint", "https://contoso.communication.azure.com")]
    public void AConfiguredSmsChannel_SendsThroughCommunicationServices(string key, string value)
    {
        var settings = new Dictionary<string, string?>(Good)
        {
            [key] = value,
            ["Sms:From"] = "+18005550100",
            ["Sms:WebhookKey"] = Tests.Infrastructure.TestSecrets.SmsWebhookKey,
        };
        using var host = BuildFunctionsHost(settings);

        Assert.IsType<OtpFailover.Sms.AcsSmsSender>(host.Services.GetRequiredService<OtpFailover.Sms.ISmsCodeSender>());
    }

    [Fact]
    public void TheSampleLocalSettings_PassValidation()
    {
        var sample = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "local.settings.sample.json"))
            .Build()
            .GetSection("Values")
            .AsEnumerable(makePathsRelative: true)
            .Where(kv => kv.Value is not null)
            .ToDictionary(kv => kv.Key.Replace("__", ":", StringComparison.Ordinal), kv => kv.Value);
        foreach (var worker in Good.Where(kv => kv.Key.StartsWith("Functions:", StringComparison.Ordinal)))
        {
            sample[worker.Key] = worker.Value;
        }

        using var host = BuildFunctionsHost(sample);

        var options = host.Services.GetRequiredService<IOptions<VerificationOptions>>().Value;

        Assert.Equal(6, options.CodeLength);
    }

    internal static IHost BuildFunctionsHost(Dictionary<string, string?> settings)
    {
        var builder = FunctionsApplication.CreateBuilder([]);
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        FunctionsComposition.Configure(builder.Services, builder.Configuration);
        return builder.Build();
    }
}
