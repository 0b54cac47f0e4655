using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using OtpFailover.Callbacks;
using OtpFailover.Sms;
using OtpFailover.WhatsApp;

namespace OtpFailover.DependencyInjection;

/// <summary>The outbound HTTP clients: the providers' send endpoints and the callback sender, each with its resilience handler.</summary>
public static partial class OtpFailoverServiceCollectionExtensions
{
    /// <summary>
    /// Binds the <c>Sms</c> section and, when a connection string or an endpoint is set, sends through Azure
    /// Communication Services: HMAC-signed with the connection string's key, or with an Entra ID token (managed
    /// identity) for an endpoint. Like WhatsApp, the resilience handler never retries the POST itself; the sender
    /// retries with the same repeatability pair.
    /// </summary>
    public static IServiceCollection AddAcsSms(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(SmsOptions.SectionName);
        services.AddOptions<SmsOptions>().Bind(section.WithoutEmptyValues()).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SmsOptions>, SmsOptionsValidator>());
        services.AddKeyVaultReferenceCheck<SmsOptions>(configuration, SmsOptions.SectionName);
        var connectionString = section[nameof(SmsOptions.ConnectionString)];
        var endpoint = section[nameof(SmsOptions.Endpoint)];
        if (string.IsNullOrWhiteSpace(connectionString) && string.IsNullOrWhiteSpace(endpoint))
        {
            return services;
        }

        services.TryAddSingleton<Azure.Core.TokenCredential>(sp =>
        {
            var clientId = sp.GetRequiredService<IOptions<SmsOptions>>().Value.ManagedIdentityClientId;
            return string.IsNullOrEmpty(clientId)
                ? new DefaultAzureCredential()
                : new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });
        });
        var client = services.AddHttpClient<AcsSmsSender>((sp, http) =>
            {
                var settings = sp.GetRequiredService<IOptions<SmsOptions>>().Value;
                http.BaseAddress = AcsConnectionString.TryParse(settings.ConnectionString, out var parsed)
                    ? parsed.Endpoint
                    : AcsConnectionString.NormalizeEndpoint(new Uri(settings.Endpoint!));
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            .AddHttpMessageHandler(sp =>
            {
                var settings = sp.GetRequiredService<IOptions<SmsOptions>>().Value;
                return AcsConnectionString.TryParse(settings.ConnectionString, out var parsed)
                    ? new AcsHmacAuthenticationHandler(parsed, sp.GetRequiredService<TimeProvider>())
                    : new AcsEntraIdAuthenticationHandler(sp.GetRequiredService<Azure.Core.TokenCredential>());
            });
        client.AddStandardResilienceHandler()
            .Configure((resilience, sp) => ForProviderSends(resilience, sp.GetRequiredService<IOptions<SmsOptions>>().Value.RequestTimeout));
        services.TryAddSingleton<ISmsCodeSender>(sp => sp.GetRequiredService<AcsSmsSender>());
        return services;
    }

    /// <summary>
    /// Binds the <c>WhatsApp</c> section and, when a phone number id is set, sends through the Cloud API with a typed
    /// client. The standard resilience handler keeps its timeouts and circuit breaker but does not retry the POST:
    /// the sender retries only what WhatsApp says is safe to retry, so no retry can message the user twice.
    /// </summary>
    public static IServiceCollection AddWhatsAppCloudApi(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(WhatsAppOptions.SectionName);
        services.AddOptions<WhatsAppOptions>().Bind(section.WithoutEmptyValues()).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WhatsAppOptions>, WhatsAppOptionsValidator>());
        services.AddKeyVaultReferenceCheck<WhatsAppOptions>(configuration, WhatsAppOptions.SectionName);
        if (string.IsNullOrWhiteSpace(section[nameof(WhatsAppOptions.PhoneNumberId)]))
        {
            return services;
        }

        services.AddHttpClient<WhatsAppCloudApiSender>((sp, client) =>
            {
                var settings = sp.GetRequiredService<IOptions<WhatsAppOptions>>().Value;
                client.BaseAddress = new Uri(settings.BaseUrl.TrimEnd('/') + "/");
                client.Timeout = Timeout.InfiniteTimeSpan; // the resilience handler's timeouts rule
            })
            .AddStandardResilienceHandler()
            .Configure((resilience, sp) => ForProviderSends(resilience, sp.GetRequiredService<IOptions<WhatsAppOptions>>().Value.RequestTimeout));
        services.TryAddSingleton<IWhatsAppCodeSender>(sp => sp.GetRequiredService<WhatsAppCloudApiSender>());
        return services;
    }

    /// <summary>
    /// The callbacks' client: redirects are never followed (an allowed host must not bounce a callback elsewhere), no
    /// proxy, every connection's address judged after DNS (<see cref="CallbackNetwork"/>). The standard handler runs a
    /// bounded set of pipelines (<see cref="CallbackUrlPolicy.PipelineKeyFor"/>: per allowed-host entry, hosts spread
    /// over a few buckets), so one receiver that is down opens the circuit of its bucket, not everyone's, and a caller
    /// naming subdomain after subdomain cannot make pipelines without limit. A refused address, or a name that does not
    /// resolve, is not counted as a failure of a circuit (it says nothing about the receivers that share it; the breaker
    /// counts it as a call that did not fail). It does not retry: the delivery orchestration does, durably.
    /// </summary>
    private static void AddCallbackSender(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(CallbackSender)))
        {
            return;
        }

        services.TryAddSingleton<CallbackNetwork>();
        services.AddHttpClient<CallbackSender>(http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                // No proxy (HTTPS_PROXY in the environment would be): the connection goes to the receiver's own
                // address, which is what the callback below judges.
                UseProxy = false,
                // The allow-list is by name: the address a name resolves to is judged here, after DNS, for every connection.
                ConnectCallback = sp.GetRequiredService<CallbackNetwork>().ConnectAsync,
            })
            .AddStandardResilienceHandler()
            .Configure((resilience, sp) =>
            {
                ForProviderSends(resilience, sp.GetRequiredService<IOptions<CallbackOptions>>().Value.RequestTimeout);
                resilience.CircuitBreaker.ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is not HttpRequestException { InnerException: CallbackAddressRefusedException }
                    && HttpClientResiliencePredicates.IsTransient(args.Outcome));
            })
            .SelectPipelineBy(sp =>
            {
                var policy = sp.GetRequiredService<CallbackUrlPolicy>();
                return request => policy.PipelineKeyFor(request.RequestUri);
            });
    }

    /// <summary>
    /// The standard handler for a provider's send endpoint: its per-attempt timeout is the channel's request timeout,
    /// its circuit breaker stays, and it never retries a POST (the senders decide what is safe to repeat).
    /// </summary>
    private static void ForProviderSends(HttpStandardResilienceOptions resilience, TimeSpan requestTimeout)
    {
        resilience.Retry.DisableForUnsafeHttpMethods();
        resilience.AttemptTimeout.Timeout = requestTimeout;
        resilience.TotalRequestTimeout.Timeout = requestTimeout + TimeSpan.FromSeconds(5);
        resilience.CircuitBreaker.SamplingDuration = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(30).Ticks, requestTimeout.Ticks * 2));
    }
}
