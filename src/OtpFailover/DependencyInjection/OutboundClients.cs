using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using OtpFailover.AzureCommunication;
using OtpFailover.Callbacks;
using OtpFailover.Email;
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
        if (string.IsNullOrWhiteSpace(section[nameof(SmsOptions.ConnectionString)]) && string.IsNullOrWhiteSpace(section[nameof(SmsOptions.Endpoint)]))
        {
            return services;
        }

        services.AddCommunicationServicesClient<AcsSmsSender, SmsOptions>(o => new(o.ConnectionString, o.Endpoint, o.ManagedIdentityClientId, o.RequestTimeout));
        services.TryAddSingleton<ISmsCodeSender>(sp => sp.GetRequiredService<AcsSmsSender>());
        return services;
    }

    /// <summary>
    /// Binds the <c>Email</c> section and, when a connection string or an endpoint is set, sends through Azure
    /// Communication Services Email, authenticated as SMS is. The resilience handler never retries the POST itself; the
    /// sender retries with the same <c>Operation-Id</c>.
    /// </summary>
    public static IServiceCollection AddAcsEmail(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(EmailOptions.SectionName);
        services.AddOptions<EmailOptions>().Bind(section.WithoutEmptyValues()).ValidateDataAnnotations()
            .Validate<IOptions<SmsOptions>>(
                (email, sms) => string.IsNullOrWhiteSpace(email.ManagedIdentityClientId) || string.IsNullOrWhiteSpace(sms.Value.ManagedIdentityClientId)
                    || string.Equals(email.ManagedIdentityClientId, sms.Value.ManagedIdentityClientId, StringComparison.OrdinalIgnoreCase),
                "Email:ManagedIdentityClientId and Sms:ManagedIdentityClientId must name the same identity (Communication Services is reached with one).")
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EmailOptions>, EmailOptionsValidator>());
        services.AddKeyVaultReferenceCheck<EmailOptions>(configuration, EmailOptions.SectionName);
        if (string.IsNullOrWhiteSpace(section[nameof(EmailOptions.ConnectionString)]) && string.IsNullOrWhiteSpace(section[nameof(EmailOptions.Endpoint)]))
        {
            return services;
        }

        services.AddCommunicationServicesClient<AcsEmailSender, EmailOptions>(o => new(o.ConnectionString, o.Endpoint, o.ManagedIdentityClientId, o.RequestTimeout));
        services.TryAddSingleton<IEmailCodeSender>(sp => sp.GetRequiredService<AcsEmailSender>());
        return services;
    }

    /// <summary>
    /// A typed client for a Communication Services REST API: based at the resource's endpoint, each request HMAC-signed
    /// with the connection string's key, or carrying an Entra ID token (a managed identity) for an endpoint alone; the
    /// standard resilience handler, which never retries a POST (<see cref="ForProviderSends"/>).
    /// </summary>
    private static void AddCommunicationServicesClient<TClient, TOptions>(this IServiceCollection services, Func<TOptions, CommunicationServicesAccess> access)
        where TClient : class
        where TOptions : class
    {
        // One identity reaches the resource for every Communication Services API (the deployment gives SMS and email
        // the same): the client id any of them names (two different ones are refused: a host has one identity for
        // this), and a host may register its own credential before.
        services.AddSingleton(new CommunicationServicesIdentity(sp => access(sp.GetRequiredService<IOptions<TOptions>>().Value).ManagedIdentityClientId));
        services.TryAddSingleton<Azure.Core.TokenCredential>(sp =>
        {
            var clientIds = sp.GetServices<CommunicationServicesIdentity>().Select(i => i.ClientId(sp)).Where(id => !string.IsNullOrWhiteSpace(id)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            return clientIds switch
            {
                [] => new DefaultAzureCredential(),
                [var clientId] => new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId }),
                _ => throw new InvalidOperationException("Sms:ManagedIdentityClientId and Email:ManagedIdentityClientId name different identities; Communication Services is reached with one."),
            };
        });
        services.AddHttpClient<TClient>((sp, http) =>
            {
                var settings = access(sp.GetRequiredService<IOptions<TOptions>>().Value);
                http.BaseAddress = AcsConnectionString.TryParse(settings.ConnectionString, out var parsed)
                    ? parsed.Endpoint
                    : AcsConnectionString.NormalizeEndpoint(new Uri(settings.Endpoint!));
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            .AddHttpMessageHandler(sp =>
            {
                var settings = access(sp.GetRequiredService<IOptions<TOptions>>().Value);
                return AcsConnectionString.TryParse(settings.ConnectionString, out var parsed)
                    ? new AcsHmacAuthenticationHandler(parsed, sp.GetRequiredService<TimeProvider>())
                    : new AcsEntraIdAuthenticationHandler(sp.GetRequiredService<Azure.Core.TokenCredential>());
            })
            .AddStandardResilienceHandler()
            .Configure((resilience, sp) => ForProviderSends(resilience, access(sp.GetRequiredService<IOptions<TOptions>>().Value).RequestTimeout));
    }

    /// <summary>The client id a Communication Services client's settings name for its managed identity.</summary>
    private sealed record CommunicationServicesIdentity(Func<IServiceProvider, string?> ClientId);

    /// <summary>How a Communication Services client reaches its resource.</summary>
    private sealed record CommunicationServicesAccess(string? ConnectionString, string? Endpoint, string? ManagedIdentityClientId, TimeSpan RequestTimeout);

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
