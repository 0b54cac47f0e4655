using System.Net;
using Azure.Core;
using Azure.Data.Tables;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OtpFailover.Functions;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.TestHost;

/// <summary>
/// Runs the app as a Functions host would, in one process: the HTTP functions on 127.0.0.1, the durable worker, and
/// the Azure Storage backend served to it by the official gRPC sidecar. Configured like the Functions app, from
/// environment variables (<c>Verification__CodeKey</c>, <c>WhatsApp__BaseUrl</c>, …), plus a <c>TestHost</c> section.
/// Prints <c>READY {url}</c> once it serves requests.
/// </summary>
public static class TestHostProgram
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        var settings = builder.Configuration.GetSection("TestHost").Get<TestHostSettings>() ?? new TestHostSettings();
        var storage = builder.Configuration["AzureWebJobsStorage"] is { Length: > 0 } connection ? connection : "UseDevelopmentStorage=true";
        builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("DurableTask", LogLevel.Error);
        using var loggerFactory = LoggerFactory.Create(logging => logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning).AddFilter("DurableTask", LogLevel.Error));

        // The backend, with its checkpoints (History table writes) held while a test says so.
        var backendTables = new TableClientOptions();
        backendTables.AddPolicy(new HoldWhileMarked("checkpoints", settings.HoldCheckpointsWhile, request => request.Contains($"{settings.TaskHub}History", StringComparison.Ordinal)), HttpPipelinePosition.PerRetry);
        var backendQueues = new Azure.Storage.Queues.QueueClientOptions();
        backendQueues.AddPolicy(new HoldWhileMarked("queue-message", settings.HoldQueueMessagesWhile, request => request.Contains("/messages", StringComparison.Ordinal)), HttpPipelinePosition.PerRetry);
        var service = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = settings.TaskHub,
            StorageAccountClientProvider = new StorageAccountClientProvider(
                StorageServiceClientProvider.ForBlob(storage),
                StorageServiceClientProvider.ForQueue(storage, backendQueues),
                StorageServiceClientProvider.ForTable(storage, backendTables)),
            PartitionCount = settings.PartitionCount,
            MaxQueuePollingInterval = HostJsonDurableSettings.Current.MaxQueuePollingInterval,
            ControlQueueBatchSize = HostJsonDurableSettings.Current.ControlQueueBatchSize,
            ControlQueueVisibilityTimeout = settings.ControlQueueVisibilityTimeout,
            WorkItemQueueVisibilityTimeout = settings.WorkItemQueueVisibilityTimeout,
            LeaseInterval = settings.LeaseInterval,
            LeaseRenewInterval = settings.LeaseInterval / 3,
            LeaseAcquireInterval = TimeSpan.FromSeconds(1),
            LoggerFactory = loggerFactory,
        });
        await service.CreateIfNotExistsAsync();

        // The app's own table, with its writes held while a test says so.
        var appTables = new TableClientOptions();
        appTables.AddPolicy(new HoldWhileMarked("app-write", settings.HoldAppWritesWhile, request => settings.HoldAppWritesContaining is { } fragment && request.Contains(fragment, StringComparison.Ordinal)), HttpPipelinePosition.PerRetry);
        builder.Services.AddSingleton(new TableServiceClient(storage, appTables));

        var grpcPort = AzureStorageDurableHost.FreeLoopbackPort();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, settings.HttpPort);
            kestrel.Listen(IPAddress.Loopback, grpcPort, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton<IOrchestrationService>(service);
        builder.Services.AddSingleton<IOrchestrationServiceClient>(service);
        builder.Services.AddSingleton<TaskHubGrpcServer>();
        FunctionsComposition.Configure(builder.Services, builder.Configuration);

        await using var app = builder.Build();
        app.MapGrpcService<TaskHubGrpcServer>();
        DurableTaskClient? client = null;
        FunctionRoutes.Map(app, () => app.Services, () => client ?? throw new InvalidOperationException("The durable client is not ready."));
        await app.StartAsync();

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        var activities = app.Services.GetRequiredService<VerificationActivities>();
        using var worker = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .ConfigureServices(services =>
            {
                services.AddSingleton<ILoggerFactory>(loggerFactory);
                services.AddDurableTaskWorker(durable =>
                {
                    durable.UseGrpc(channel);
                    durable.AddTasks(registry => registry.AddVerificationWorkflow(activities));
                });
                services.AddDurableTaskClient(durable =>
                {
                    durable.UseGrpc(channel);
                    durable.RegisterDirectly();
                });
            })
            .Build();
        await worker.StartAsync();
        client = worker.Services.GetRequiredService<DurableTaskClient>();

        var url = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
            .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First(a => !a.EndsWith($":{grpcPort}", StringComparison.Ordinal));
        Console.Out.WriteLine($"READY {url}");
        Console.Out.Flush();
        await app.WaitForShutdownAsync();
        await worker.StopAsync();
        return 0;
    }
}
