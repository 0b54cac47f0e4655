using System.Diagnostics;
using System.Text.Json.Nodes;
using OtpFailover.Tests.Infrastructure;

namespace OtpFailover.Tests.Configuration;

/// <summary>
/// host.json is read by the Functions host's extensions, not by the durable engine the other tests run: the engine
/// took a <c>controlQueueVisibilityTimeout</c> of 30 s that the Durable extension refuses, and the app did not start.
/// These tests start the host-side extensions the way the host does (<c>OtpFailover.ExtensionHost</c>: the build's own
/// extension payload, so the durable extension at the version the worker extension brings, and the host's built-in
/// HTTP extension), with the repository's host.json bound under <c>AzureFunctionsJobHost</c>, against Azurite. Where a
/// setting has a range, the extension is the judge: nothing here copies its rules.
/// </summary>
public sealed class HostExtensionsTests
{
    private static readonly string HostJson = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "host.json"));

    [Fact]
    public async Task TheRepositorysHostJson_StartsTheHostSideExtensions()
    {
        var (exitCode, report, output) = await StartExtensionsAsync(HostJson);

        Assert.True(exitCode == 0, output);
        Assert.True(report["started"]!.GetValue<bool>(), output);
        // The durable extension came from the payload and bound host.json's section, as the host binds it.
        var extensions = report["extensions"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
        Assert.Contains(extensions, e => e.StartsWith("Microsoft.Azure.WebJobs.Extensions.DurableTask 3.", StringComparison.Ordinal));
        var durable = JsonNode.Parse(HostJson)!["extensions"]!["durableTask"]!;
        Assert.Equal(durable["hubName"]!.GetValue<string>(), report["durableTask.hubName"]!.GetValue<string>());
        Assert.Equal(durable["storageProvider"]!["controlQueueVisibilityTimeout"]!.GetValue<string>(), report["durableTask.storageProvider.controlQueueVisibilityTimeout"]!.GetValue<string>());
        Assert.Equal(JsonNode.Parse(HostJson)!["extensions"]!["http"]!["routePrefix"]!.GetValue<string>(), report["http.routePrefix"]!.GetValue<string>());
    }

    [Fact]
    public async Task AControlQueueVisibilityTimeoutOfHalfAMinute_StopsTheHost_WithTheExtensionsError()
    {
        var hostJson = JsonNode.Parse(HostJson)!;
        hostJson["extensions"]!["durableTask"]!["storageProvider"]!["controlQueueVisibilityTimeout"] = "00:00:30";

        var (exitCode, report, output) = await StartExtensionsAsync(hostJson.ToJsonString());

        Assert.True(exitCode == 1, output);
        Assert.False(report["started"]!.GetValue<bool>());
        Assert.Contains("ControlQueueVisibilityTimeout must be between 1 and 60 minutes", report["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnHttpSettingTheHttpExtensionCannotBind_StopsTheHost()
    {
        var hostJson = JsonNode.Parse(HostJson)!;
        hostJson["extensions"]!["http"]!["maxConcurrentRequests"] = "many";

        var (exitCode, report, output) = await StartExtensionsAsync(hostJson.ToJsonString());

        Assert.True(exitCode == 1, output);
        Assert.Contains("extensions:Http:MaxConcurrentRequests", report["error"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<(int ExitCode, JsonObject Report, string Output)> StartExtensionsAsync(string hostJson)
    {
        await Azurite.EnsureRunningAsync();
        var folder = Directory.CreateTempSubdirectory("otp-hostjson-");
        try
        {
            var path = Path.Combine(folder.FullName, "host.json");
            await File.WriteAllTextAsync(path, hostJson);
            var program = Path.Combine(AppContext.BaseDirectory, "OtpFailover.ExtensionHost.dll");
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, WorkingDirectory = folder.FullName };
            // The app folder is the test output: the build copies the Functions project's extensions.json and
            // .azurefunctions payload here, as it does into the app's own output.
            start.ArgumentList.Add(program);
            start.ArgumentList.Add(AppContext.BaseDirectory);
            start.ArgumentList.Add(path);
            start.Environment["AzureWebJobsStorage"] = Azurite.ConnectionString;
            var (exitCode, output) = await ChildProcesses.RunAsync(start, TimeSpan.FromMinutes(2));
            var reportLine = output.Split('\n').LastOrDefault(l => l.StartsWith("{\"started\":", StringComparison.Ordinal))
                ?? throw new Xunit.Sdk.XunitException($"The extension host printed no report (exit {exitCode}):\n{output}");
            return (exitCode, JsonNode.Parse(reportLine)!.AsObject(), output);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
