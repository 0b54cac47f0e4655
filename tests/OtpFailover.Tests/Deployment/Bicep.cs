using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using OtpFailover.Tests.Infrastructure;

namespace OtpFailover.Tests.Deployment;

/// <summary>
/// The Bicep CLI the NuGet package <c>Azure.Bicep.CommandLine.linux-x64</c> brings (no download from anywhere else).
/// </summary>
internal static class Bicep
{
    public static string InfraFolder => Path.Combine(ChildProcesses.RepositoryRoot, "infra");

    /// <summary>The CLI's path, or null where the package's Linux x64 build cannot run (the tests then skip).</summary>
    public static string? Executable
    {
        get
        {
            if (!OperatingSystem.IsLinux() || RuntimeInformation.OSArchitecture != Architecture.X64)
            {
                return null;
            }

            var configured = typeof(Bicep).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "BicepPath").Value;
            var path = string.IsNullOrEmpty(configured) ? null : Path.GetFullPath(configured.Replace('\\', '/'));
            return path is not null && File.Exists(path) ? path : throw new FileNotFoundException($"The Bicep CLI restored from NuGet is not at '{configured}'.");
        }
    }

    /// <summary>Skips where the CLI cannot run; in CI (<c>CI=true</c>) that is a failure, not a skip.</summary>
    public static void SkipUnlessItRuns()
    {
        var runs = Executable is not null;
        Assert.True(runs || Environment.GetEnvironmentVariable("CI") != "true", "CI must check the infrastructure, but the Bicep CLI cannot run on this machine.");
        Skip.IfNot(runs, "The Bicep CLI from NuGet runs on Linux x64 only (CI runs there).");
    }

    public static Task<(int ExitCode, string Output)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(Executable!) { WorkingDirectory = ChildProcesses.RepositoryRoot };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // No telemetry, and no attempt to reach a registry or the internet.
        start.Environment["BICEP_TELEMETRY_ENABLED"] = "false";
        return ChildProcesses.RunAsync(start, TimeSpan.FromMinutes(3));
    }

    /// <summary><c>infra/main.bicep</c> compiled to an ARM template.</summary>
    public static async Task<JsonObject> BuildMainAsync()
    {
        var (exitCode, output) = await RunAsync("build", Path.Combine(InfraFolder, "main.bicep"), "--stdout");
        Assert.True(exitCode == 0, output);
        return JsonNode.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..])!.AsObject();
    }

    /// <summary>Every template in <paramref name="template"/>, the nested ones of its modules included.</summary>
    public static IEnumerable<JsonObject> Templates(JsonObject template)
    {
        yield return template;
        var resources = template["resources"] switch
        {
            JsonArray array => array.OfType<JsonObject>(),
            JsonObject symbolic => symbolic.Select(r => r.Value).OfType<JsonObject>(),
            _ => [],
        };
        foreach (var resource in resources)
        {
            if (resource["properties"] is JsonObject properties && properties["template"] is JsonObject nested)
            {
                foreach (var inner in Templates(nested))
                {
                    yield return inner;
                }
            }
        }
    }
}
