using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OtpFailover.DependencyInjection;
using OtpFailover.Simulator;
using OtpFailover.TestHost;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Benchmarks;

public enum Backend
{
    InMemory,
    AzureStorage,
}

/// <summary>
/// The app as the Functions host composes it (<c>AddOtpFailover</c> over configuration), with the real provider
/// clients pointed at the simulator's stand-ins, on one durable engine, next to a bare orchestration (one activity)
/// that is the baseline. Every request to the app's table and to the task hub's storage is counted.
/// </summary>
public sealed class BenchApp : IAsyncDisposable
{
    public const string Bare = nameof(Bare);
    public const string BareActivity = nameof(BareActivity);
    public const string Noop = nameof(Noop);
    public const string Listen = nameof(Listen);

    private readonly ServiceProvider _services;
    private readonly DurableTaskTestHost _durable;
    private readonly Func<Task> _deleteTaskHub;

    private BenchApp(ServiceProvider services, DurableTaskTestHost durable, string table, string? taskHub, Func<Task> deleteTaskHub, RequestCounter appRequests, RequestCounter backendRequests)
    {
        _services = services;
        _durable = durable;
        TableName = table;
        TaskHub = taskHub;
        _deleteTaskHub = deleteTaskHub;
        AppRequests = appRequests;
        BackendRequests = backendRequests;
    }

    /// <summary>When each bare activity began, by its input.</summary>
    public static ConcurrentDictionary<string, long> BareActivityAt { get; } = new();

    public string TableName { get; }

    public string? TaskHub { get; }

    public RequestCounter AppRequests { get; }

    public RequestCounter BackendRequests { get; }

    public DurableTaskClient Client => _durable.Client;

    public VerificationService Verifications => _services.GetRequiredService<VerificationService>();

    public OtpFailover.WhatsApp.WhatsAppWebhookHandler WhatsAppWebhook => _services.GetRequiredService<OtpFailover.WhatsApp.WhatsAppWebhookHandler>();

    public TableClient Table => _services.GetRequiredService<TableServiceClient>().GetTableClient(TableName);

    public static async Task<BenchApp> StartAsync(Backend backend, WhatsAppCloudApiStandIn graph, AcsSmsStandIn acs, TimeSpan deliveryTimeout, string appSecret, string webhookKey)
    {
        var table = $"bench{Guid.NewGuid():N}"[..20];
        var settings = new Dictionary<string, string?>
        {
            ["AZURE_FUNCTIONS_ENVIRONMENT"] = "Development",
            ["Storage:TableName"] = table,
            ["Verification:CodeKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Verification:CodeLifetime"] = "00:10:00",
            ["Verification:WhatsAppDeliveryTimeout"] = deliveryTimeout.ToString(),
            ["WhatsApp:BaseUrl"] = graph.BaseUrl.ToString(),
            ["WhatsApp:ApiVersion"] = graph.ApiVersion,
            ["WhatsApp:PhoneNumberId"] = graph.PhoneNumberId,
            ["WhatsApp:AccessToken"] = graph.AccessToken,
            ["WhatsApp:AppSecret"] = appSecret,
            ["WhatsApp:VerifyToken"] = "bench-verify-token",
            ["WhatsApp:TemplateName"] = graph.TemplateName,
            ["WhatsApp:TemplateLanguage"] = graph.TemplateLanguage,
            ["Sms:ConnectionString"] = acs.ConnectionString,
            ["Sms:From"] = "+18005550100",
            ["Sms:WebhookKey"] = webhookKey,
            ["Abuse:SmsPerCountryPerHourByCountry:DE"] = "1000000",
        };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var appRequests = new RequestCounter();
        var backendRequests = new RequestCounter();
        var tableOptions = new TableClientOptions();
        tableOptions.AddPolicy(appRequests, HttpPipelinePosition.PerRetry);

        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton(new TableServiceClient(Azurite.ConnectionString, tableOptions));
        services.AddSingleton<IConfiguration>(configuration);
        services.AddOtpFailover(configuration);
        var provider = services.BuildServiceProvider();
        var activities = provider.GetRequiredService<VerificationActivities>();
        var loggerFactory = provider.GetRequiredService<ILoggerFactory>();

        void Register(DurableTaskRegistry registry)
        {
            registry.AddVerificationWorkflow(activities);
            registry.AddOrchestratorFunc<string, string>(Bare, (context, input) => context.CallActivityAsync<string>(BareActivity, input!));
            registry.AddActivityFunc<string, string>(BareActivity, (_, input) =>
            {
                BareActivityAt.TryAdd(input!, Stopwatch.GetTimestamp());
                return input!;
            });
            registry.AddOrchestratorFunc<string, string>(Noop, (_, input) => Task.FromResult(input!));
            registry.AddOrchestratorFunc<string, string>(Listen, (context, _) => context.WaitForExternalEvent<string>("signal"));
        }

        if (backend == Backend.AzureStorage)
        {
            var (host, hub, delete) = await AzureStorageDurableHost.StartAsync(Register, loggerFactory, partitionCount: HostJsonDurableSettings.Current.PartitionCount, storagePolicy: backendRequests);
            return new BenchApp(provider, host, table, hub, delete, appRequests, backendRequests);
        }

        var durable = await DurableTaskTestHost.StartAsync(Register, new DurableTaskTestHostOptions { LoggerFactory = loggerFactory, Port = AzureStorageDurableHost.FreeLoopbackPort() });
        return new BenchApp(provider, durable, table, null, () => Task.CompletedTask, appRequests, backendRequests);
    }

    public async ValueTask DisposeAsync()
    {
        await _durable.DisposeAsync();
        await _deleteTaskHub();
        await Table.DeleteAsync();
        await _services.DisposeAsync();
    }
}

/// <summary>Counts the storage requests that pass through a client's pipeline, and remembers the recent ones.</summary>
public sealed class RequestCounter : HttpPipelinePolicy
{
    private readonly ConcurrentQueue<string> _requests = new();
    private volatile bool _recording;

    /// <summary>Starts a fresh count.</summary>
    public void Start()
    {
        _requests.Clear();
        _recording = true;
    }

    public IReadOnlyList<string> Stop()
    {
        _recording = false;
        return [.. _requests];
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_recording)
        {
            var description = $"{message.Request.Method} {Uri.UnescapeDataString(message.Request.Uri.Path)}";
            if (message.Request.Content is { } content && message.Request.Method == RequestMethod.Post)
            {
                using var buffer = new MemoryStream();
                await content.WriteToAsync(buffer, default);
                var partition = System.Text.RegularExpressions.Regex.Match(System.Text.Encoding.UTF8.GetString(buffer.ToArray()), "\"PartitionKey\":\"([^\"]*)\"");
                description += partition.Success ? $" PartitionKey='{partition.Groups[1].Value}'" : string.Empty;
            }

            _requests.Enqueue(description);
        }

        await ProcessNextAsync(message, pipeline);
    }
}
