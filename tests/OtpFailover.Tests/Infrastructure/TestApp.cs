using Azure.Data.Tables;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using OtpFailover.Abuse;
using OtpFailover.DependencyInjection;
using OtpFailover.Functions.Http;
using OtpFailover.Storage;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Infrastructure;

/// <summary>
/// The app as the Functions host wires it, with the durable engine in-process (DurableTaskTestHost), storage on
/// Azurite in a table of its own, stand-in channel providers, and every log line captured.
/// </summary>
public enum DurableBackend
{
    /// <summary>The in-memory engine of <c>Microsoft.DurableTask.InProcessTestHost</c>.</summary>
    InMemory,

    /// <summary>The Azure Storage backend on Azurite, persisted as Azure Functions persists it.</summary>
    AzureStorage,
}

public sealed class TestApp : IAsyncDisposable
{
    public static readonly TimeSpan FlowTimeout = TimeSpan.FromSeconds(45);

    private readonly Func<Task> _deleteTaskHub;

    private TestApp(ServiceProvider services, DurableTaskTestHost durable, string tableName, string? taskHubName, Func<Task> deleteTaskHub)
    {
        Services = services;
        Durable = durable;
        TableName = tableName;
        TaskHubName = taskHubName;
        _deleteTaskHub = deleteTaskHub;
    }

    /// <summary>The Azure Storage task hub, when the engine runs on <see cref="DurableBackend.AzureStorage"/>.</summary>
    public string? TaskHubName { get; }

    public ServiceProvider Services { get; }

    public DurableTaskTestHost Durable { get; }

    public DurableTaskClient Client => Durable.Client;

    public string TableName { get; }

    public VerificationOptions Options => Services.GetRequiredService<IOptions<VerificationOptions>>().Value;

    public VerificationService Verifications => Services.GetRequiredService<VerificationService>();

    public VerificationStore Store => Services.GetRequiredService<VerificationStore>();

    public VerificationActivities Activities => Services.GetRequiredService<VerificationActivities>();

    public VerificationsApi Api => ActivatorUtilities.CreateInstance<VerificationsApi>(Services);

    public RecordingWhatsAppSender WhatsApp => Services.GetRequiredService<RecordingWhatsAppSender>();

    public RecordingSmsSender Sms => Services.GetRequiredService<RecordingSmsSender>();

    public RecordingEmailSender Email => Services.GetRequiredService<RecordingEmailSender>();

    public OtpFailover.WhatsApp.WhatsAppWebhookHandler WhatsAppWebhook => Services.GetRequiredService<OtpFailover.WhatsApp.WhatsAppWebhookHandler>();

    public OtpFailover.Sms.AcsDeliveryReportHandler SmsDeliveryReports => Services.GetRequiredService<OtpFailover.Sms.AcsDeliveryReportHandler>();

    public FakeLogCollector Logs => Services.GetRequiredService<FakeLogCollector>();

    public TableClient Table => Services.GetRequiredService<TableServiceClient>().GetTableClient(TableName);

    public static VerificationOptions DefaultOptions() => new()
    {
        CodeLength = 6,
        CodeLifetime = TimeSpan.FromSeconds(30),
        WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(3),
        MaxCheckAttempts = 5,
        Brand = "Contoso",
        CodeKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
    };

    /// <param name="services">Last word on the services, e.g. to swap a stand-in sender for a real client.</param>
    /// <param name="abuse">Changes to the abuse limits (the defaults are the product's own).</param>
    public static async Task<TestApp> StartAsync(
        Action<VerificationOptions>? configure = null,
        TimeProvider? time = null,
        DurableBackend backend = DurableBackend.InMemory,
        Action<IServiceCollection>? services = null,
        Action<AbuseOptions>? abuse = null,
        int partitionCount = 1,
        string? storage = null)
    {
        await Azurite.EnsureRunningAsync();
        var options = DefaultOptions();
        configure?.Invoke(options);
        var abuseOptions = new AbuseOptions();
        abuse?.Invoke(abuseOptions);
        var tableName = Azurite.UniqueTableName();

        var collector = new FakeLogCollector();
        var registrations = new ServiceCollection();
        registrations.AddSingleton(collector);
        registrations.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(collector)));
        registrations.AddSingleton(Microsoft.Extensions.Options.Options.Create(options));
        registrations.AddSingleton(Microsoft.Extensions.Options.Options.Create(new StorageOptions { TableName = tableName }));
        registrations.AddSingleton(Microsoft.Extensions.Options.Options.Create(abuseOptions));
        registrations.AddSingleton(Microsoft.Extensions.Options.Options.Create(TestSecrets.WhatsAppOptions()));
        registrations.AddSingleton(Microsoft.Extensions.Options.Options.Create(new OtpFailover.Sms.SmsOptions { WebhookKey = TestSecrets.SmsWebhookKey }));
        registrations.AddSingleton(new TableServiceClient(storage ?? Azurite.ConnectionString));
        registrations.AddSingleton(time ?? TimeProvider.System);
        registrations.AddSingleton<RecordingWhatsAppSender>();
        registrations.AddSingleton<RecordingSmsSender>();
        registrations.AddSingleton<OtpFailover.WhatsApp.IWhatsAppCodeSender>(sp => sp.GetRequiredService<RecordingWhatsAppSender>());
        registrations.AddSingleton<OtpFailover.Sms.ISmsCodeSender>(sp => sp.GetRequiredService<RecordingSmsSender>());
        registrations.AddSingleton<RecordingEmailSender>();
        registrations.AddSingleton<OtpFailover.Email.IEmailCodeSender>(sp => sp.GetRequiredService<RecordingEmailSender>());
        registrations.AddOtpFailoverCore();
        services?.Invoke(registrations);
        var provider = registrations.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        var activities = provider.GetRequiredService<VerificationActivities>();
        var callbacks = provider.GetRequiredService<OtpFailover.Workflow.CallbackActivities>();
        var loggerFactory = provider.GetRequiredService<ILoggerFactory>();
        if (backend == DurableBackend.AzureStorage)
        {
            var (host, taskHubName, deleteTaskHub) = await AzureStorageDurableHost.StartAsync(registry => RegisterWorkflow(registry, activities, callbacks), loggerFactory, partitionCount, storage);
            return new TestApp(provider, host, tableName, taskHubName, deleteTaskHub);
        }

        var durable = await StartDurableAsync(registry => RegisterWorkflow(registry, activities, callbacks), loggerFactory);
        return new TestApp(provider, durable, tableName, null, () => Task.CompletedTask);
    }

    /// <summary>
    /// Starts the in-process engine on a free loopback port. The host's own choice is random in 30000–40000 and
    /// clashes when tests run in parallel, so a port is picked here, and picked again if another host took it first.
    /// </summary>
    public static async Task<DurableTaskTestHost> StartDurableAsync(Action<DurableTaskRegistry> register, ILoggerFactory loggerFactory)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await DurableTaskTestHost.StartAsync(register, new DurableTaskTestHostOptions { LoggerFactory = loggerFactory, Port = AzureStorageDurableHost.FreeLoopbackPort() });
            }
            catch (IOException ex) when (attempt < 5 && ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
            }
        }
    }


    /// <summary>The same names and bodies the Functions app registers, on the official durable engine.</summary>
    public static void RegisterWorkflow(DurableTaskRegistry registry, VerificationActivities activities, OtpFailover.Workflow.CallbackActivities callbacks)
    {
        registry.AddVerificationWorkflow(activities);
        registry.AddCallbackDelivery(callbacks);
    }

    /// <summary>Starts a verification for a fresh number and returns it with the code WhatsApp was asked to send.</summary>
    public async Task<(Verification Verification, string Code)> StartAndAwaitWhatsAppAsync(string phoneNumber = "+14155550123", string? clientReference = null)
    {
        var before = WhatsApp.Calls;
        var started = await StartAsync(phoneNumber, clientReference);
        var message = await WhatsApp.WaitForMessageAsync(before + 1);
        Assert.Equal(started.Id, message.VerificationId);
        return (started, message.Code);
    }

    /// <summary>Starts a verification through the service, as the API does once the number passed the policy.</summary>
    public async Task<Verification> StartAsync(string phoneNumber, string? clientReference = null)
    {
        var result = await TryStartAsync(phoneNumber, clientReference);
        Assert.True(result.Outcome == StartOutcome.Started, $"The start was {result.Outcome} ({result.Limit?.Setting}).");
        return result.Verification!;
    }

    public async Task<StartResult> TryStartAsync(string phoneNumber, string? clientReference = null, IReadOnlyList<string>? clientSubjects = null, string? idempotencyKey = null)
    {
        Assert.True(OtpFailover.PhoneNumbers.PhoneNumber.TryParse(phoneNumber, out var number), $"{phoneNumber} does not parse");
        return await Verifications.StartAsync(new StartRequest(number, clientReference, clientSubjects, idempotencyKey), Client, CancellationToken.None);
    }

    /// <summary>Every row of the app's table, for tests that prove a request wrote nothing.</summary>
    public async Task<IReadOnlyList<Azure.Data.Tables.TableEntity>> RowsAsync()
    {
        var rows = new List<Azure.Data.Tables.TableEntity>();
        try
        {
            await foreach (var row in Table.QueryAsync<Azure.Data.Tables.TableEntity>())
            {
                rows.Add(row);
            }
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            // The table is made on first use: no table, no rows.
        }

        return rows;
    }

    public async Task WaitForPhaseAsync(string id, string phase)
    {
        OrchestrationMetadata? last = null;
        try
        {
            await Eventually.WaitUntilAsync(
                async () => (last = await Client.GetInstanceAsync(id, getInputsAndOutputs: true))?.SerializedCustomStatus == $"\"{phase}\"",
                FlowTimeout,
                $"orchestration {id} to reach {phase}");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message} Last seen: {last?.RuntimeStatus} {last?.SerializedCustomStatus} {last?.FailureDetails}\n{string.Join('\n', Logs.GetSnapshot().TakeLast(30).Select(r => $"{r.Level} {r.Category}: {r.Message} {r.Exception}"))}", ex);
        }
    }

    public async Task<OrchestrationMetadata> WaitForCompletionAsync(string id)
    {
        using var timeout = new CancellationTokenSource(FlowTimeout);
        return await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
    }

    public async Task<Verification> GetAsync(string id) =>
        await Verifications.GetAsync(id, CancellationToken.None) ?? throw new InvalidOperationException($"No verification {id}");

    public async ValueTask DisposeAsync()
    {
        await Durable.DisposeAsync();
        await _deleteTaskHub();
        try
        {
            await Table.DeleteAsync();
        }
        catch (Azure.RequestFailedException)
        {
        }

        await Services.DisposeAsync();
    }
}
