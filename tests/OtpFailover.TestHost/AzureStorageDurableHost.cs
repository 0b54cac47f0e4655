using System.Net;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace OtpFailover.TestHost;

/// <summary>
/// The durable engine the way Azure Functions runs it by default: the Azure Storage backend (here on Azurite), so
/// orchestration state is persisted in real History and Instances tables that a test can read. The official
/// <see cref="TaskHubGrpcServer"/> sidecar serves it to the durabletask-dotnet worker and client over gRPC.
/// </summary>
public sealed class AzureStorageDurableHost
{
    public static async Task<(DurableTaskTestHost Host, string TaskHubName, Func<Task> DeleteTaskHub)> StartAsync(
        Action<DurableTaskRegistry> register, ILoggerFactory loggerFactory, int partitionCount = 1, string? storage = null, Azure.Core.Pipeline.HttpPipelinePolicy? storagePolicy = null)
    {
        var taskHubName = $"hub{Guid.NewGuid():N}"[..19];
        var connection = storage ?? Azurite.ConnectionString;
        var blobs = new Azure.Storage.Blobs.BlobClientOptions();
        var queues = new Azure.Storage.Queues.QueueClientOptions();
        var tables = new Azure.Data.Tables.TableClientOptions();
        if (storagePolicy is not null)
        {
            blobs.AddPolicy(storagePolicy, Azure.Core.HttpPipelinePosition.PerRetry);
            queues.AddPolicy(storagePolicy, Azure.Core.HttpPipelinePosition.PerRetry);
            tables.AddPolicy(storagePolicy, Azure.Core.HttpPipelinePosition.PerRetry);
        }

        var service = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = taskHubName,
            StorageAccountClientProvider = new StorageAccountClientProvider(
                StorageServiceClientProvider.ForBlob(connection, blobs),
                StorageServiceClientProvider.ForQueue(connection, queues),
                StorageServiceClientProvider.ForTable(connection, tables)),
            PartitionCount = partitionCount,

            // As host.json sets them, so that tests and the benchmark measure the engine production runs.
            MaxQueuePollingInterval = HostJsonDurableSettings.Current.MaxQueuePollingInterval,
            ControlQueueVisibilityTimeout = HostJsonDurableSettings.Current.ControlQueueVisibilityTimeout,
            WorkItemQueueVisibilityTimeout = HostJsonDurableSettings.Current.WorkItemQueueVisibilityTimeout,
            ControlQueueBatchSize = HostJsonDurableSettings.Current.ControlQueueBatchSize,
            LoggerFactory = loggerFactory,
        });
        await service.CreateIfNotExistsAsync();

        var port = FreeLoopbackPort();
        var sidecarBuilder = WebApplication.CreateSlimBuilder();
        sidecarBuilder.Logging.ClearProviders();
        sidecarBuilder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http2));
        sidecarBuilder.Services.AddGrpc();
        sidecarBuilder.Services.AddSingleton(loggerFactory);
        sidecarBuilder.Services.AddSingleton<IOrchestrationService>(service);
        sidecarBuilder.Services.AddSingleton<IOrchestrationServiceClient>(service);
        sidecarBuilder.Services.AddSingleton<TaskHubGrpcServer>();
        var sidecar = sidecarBuilder.Build();
        sidecar.MapGrpcService<TaskHubGrpcServer>();
        await sidecar.StartAsync();

        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var worker = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .ConfigureServices(services =>
            {
                services.AddSingleton(loggerFactory);
                services.AddDurableTaskWorker(builder =>
                {
                    builder.UseGrpc(channel);
                    builder.AddTasks(register);
                });
                services.AddDurableTaskClient(builder =>
                {
                    builder.UseGrpc(channel);
                    builder.RegisterDirectly();
                });
            })
            .Build();
        await worker.StartAsync();

        var host = new DurableTaskTestHost(sidecar, worker, channel, worker.Services.GetRequiredService<DurableTaskClient>());
        return (host, taskHubName, () => service.DeleteAsync());
    }

    /// <summary>A loopback port that was free a moment ago (the OS picks it).</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
