using System.Collections.Concurrent;
using System.Net;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OtpFailover.DependencyInjection;
using OtpFailover.Tests.Configuration;

namespace OtpFailover.Tests.Deployment;

/// <summary>
/// In Azure the app has no storage connection string: only the identity settings the infrastructure deploys
/// (<c>AzureWebJobsStorage__tableServiceUri</c>, <c>__credential</c>, <c>__clientId</c>). Its table client must come
/// from exactly those, and authenticate as that user-assigned identity.
/// </summary>
[Collection(nameof(ProcessEnvironment))]
public sealed class IdentityStorageTests
{
    private const string ClientId = "6f2c5d0e-0b7a-4b0e-9c53-2f4c1a7e9d11";
    private const string TableServiceUri = "https://stotpfailover.table.core.windows.net/";

    private static Dictionary<string, string?> IdentitySettings()
    {
        var settings = StartupValidationTests.GoodSettings();

        // What infra/app/function-app.bicep deploys, and nothing else about storage (the empty connection string is
        // how App Service hands an unset one over, at worst).
        settings["AzureWebJobsStorage"] = "";
        settings["AzureWebJobsStorage:blobServiceUri"] = "https://stotpfailover.blob.core.windows.net/";
        settings["AzureWebJobsStorage:queueServiceUri"] = "https://stotpfailover.queue.core.windows.net/";
        settings["AzureWebJobsStorage:tableServiceUri"] = TableServiceUri;
        settings["AzureWebJobsStorage:credential"] = "managedidentity";
        settings["AzureWebJobsStorage:clientId"] = ClientId;
        return settings;
    }

    [Fact]
    public void TheTableClient_IsBuiltFromTheIdentitySettingsAlone()
    {
        using var host = StartupValidationTests.BuildFunctionsHost(IdentitySettings());

        var client = host.Services.GetRequiredService<TableServiceClient>();

        Assert.Equal(new Uri(TableServiceUri), client.Uri);
        Assert.Equal("stotpfailover", client.AccountName);
    }

    [Fact]
    public async Task TheStorageCredential_IsTheUserAssignedManagedIdentity_AndGetsItsTokenForStorage()
    {
        // App Service's managed identity endpoint, as the platform gives it to the app: IDENTITY_ENDPOINT and
        // IDENTITY_HEADER. The stand-in answers like it and records what it was asked.
        var asked = new ConcurrentQueue<(string? Resource, string? ClientId, string? Header)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        await using var identity = builder.Build();
        identity.MapGet("/msi/token", (HttpRequest request) =>
        {
            asked.Enqueue((request.Query["resource"], request.Query["client_id"], request.Headers["X-IDENTITY-HEADER"]));
            return Results.Json(new Dictionary<string, string>
            {
                ["access_token"] = "token-for-the-user-assigned-identity",
                ["expires_on"] = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["resource"] = request.Query["resource"].ToString(),
                ["token_type"] = "Bearer",
                ["client_id"] = request.Query["client_id"].ToString(),
            });
        });
        await identity.StartAsync();
        var endpoint = $"{OtpFailover.Simulator.LoopbackStandIn.ListeningUrl(identity)}msi/token";

        using (ProcessEnvironment.Set(("IDENTITY_ENDPOINT", endpoint), ("IDENTITY_HEADER", "platform-secret")))
        {
            var section = new ConfigurationBuilder().AddInMemoryCollection(IdentitySettings()).Build().GetSection(OtpFailoverServiceCollectionExtensions.StorageConnectionName);
            var credential = OtpFailoverServiceCollectionExtensions.StorageCredential(section);

            Assert.IsType<ManagedIdentityCredential>(credential);
            var token = await credential.GetTokenAsync(new TokenRequestContext(["https://storage.azure.com/.default"]), default);

            Assert.Equal("token-for-the-user-assigned-identity", token.Token);
        }

        var request = Assert.Single(asked);
        Assert.Equal("https://storage.azure.com", request.Resource);
        Assert.Equal(ClientId, request.ClientId);
        Assert.Equal("platform-secret", request.Header);
    }
}

/// <summary>Tests that change the process's environment run one at a time.</summary>
[CollectionDefinition(nameof(ProcessEnvironment), DisableParallelization = true)]
public sealed class ProcessEnvironment
{
    public static IDisposable Set(params (string Name, string? Value)[] variables)
    {
        var before = variables.Select(v => (v.Name, Environment.GetEnvironmentVariable(v.Name))).ToList();
        foreach (var (name, value) in variables)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        return new Restore(before);
    }

    private sealed class Restore(List<(string Name, string? Value)> before) : IDisposable
    {
        public void Dispose()
        {
            foreach (var (name, value) in before)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }
}
