using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.DependencyInjection;
using OtpFailover.Simulator;
using OtpFailover.Sms;

namespace OtpFailover.Tests.Sms;

public static class AcsStandIns
{
    public static readonly byte[] AccessKey = Convert.FromBase64String("dGVzdC1hY2Nlc3Mta2V5LTAxMjM0NTY3ODlhYmNkZWY=");

    public static Task<AcsSmsStandIn> StartAsync() => new AcsSmsStandIn(AccessKey, bearerToken: "entra-token-for-tests").StartAsync();

    /// <summary>Registers the real ACS client the way the app does, in place of whatever SMS sender was registered.</summary>
    public static void UseAcs(IServiceCollection services, Dictionary<string, string?> settings)
    {
        foreach (var descriptor in services.Where(d => d.ServiceType == typeof(ISmsCodeSender) || d.ServiceType == typeof(Microsoft.Extensions.Options.IOptions<SmsOptions>)).ToList())
        {
            services.Remove(descriptor);
        }

        services.AddAcsSms(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
    }

    public static Dictionary<string, string?> Settings(AcsSmsStandIn acs, string? connectionString = null, bool entra = false, TimeSpan? requestTimeout = null) => new()
    {
        [entra ? "Sms:Endpoint" : "Sms:ConnectionString"] = entra ? acs.Endpoint.ToString() : connectionString ?? acs.ConnectionString,
        ["Sms:From"] = "+18005550100",
        ["Sms:WebhookKey"] = Infrastructure.TestSecrets.SmsWebhookKey,
        ["Sms:RequestTimeout"] = (requestTimeout ?? TimeSpan.FromSeconds(10)).ToString(),
    };

}
