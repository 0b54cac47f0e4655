using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.DependencyInjection;
using OtpFailover.Email;
using OtpFailover.EmailAddresses;
using OtpFailover.Simulator;
using OtpFailover.Tests.Sms;

namespace OtpFailover.Tests.Email;

/// <summary>
/// Microsoft's own <c>@azure/communication-email</c> (npm) against the stand-in the app's client is tested against:
/// the stand-in takes the official client's signature, path, api-version and body, so the app's client, which the same
/// stand-in takes, agrees with the official implementation on all of them. Required in CI; skipped without Node.js.
/// </summary>
public sealed class OfficialEmailClientTests
{
    [SkippableFact]
    public async Task TheOfficialClient_AndTheAppsClient_SendTheSameRequest_AndTheStandInTakesBoth()
    {
        if (Environment.GetEnvironmentVariable("CI") != "true")
        {
            Skip.If(LocalRun.VersionOf("node", "--version") is null, "Needs Node.js.");
        }

        var scripts = Path.Combine(LocalRun.FindRepositoryRoot(AppContext.BaseDirectory)!, "tests", "OtpFailover.Tests", "Js");
        if (!Directory.Exists(Path.Combine(scripts, "node_modules", "@azure", "communication-email")))
        {
            var (installed, installOutput) = await RunAsync("npm", "ci --no-fund --no-audit --loglevel=error", scripts);
            Assert.True(installed == 0, installOutput);
        }

        await using var acs = await new AcsEmailStandIn(AcsStandIns.AccessKey).StartAsync();
        var (exitCode, output, printed) = await RunNodeAsync($"email-send.mjs \"{acs.ConnectionString}\" DoNotReply@contoso.example ana@example.com {Guid.NewGuid()}", scripts);
        Assert.True(exitCode == 0, output);
        Assert.Equal("Succeeded", JsonDocument.Parse(printed.Trim().Split('\n')[^1]).RootElement.GetProperty("status").GetString());
        var official = Assert.Single(acs.Requests, r => r.Method == "POST");

        var services = new ServiceCollection().AddLogging().AddSingleton(TimeProvider.System);
        services.AddAcsEmail(new ConfigurationBuilder().AddInMemoryCollection(AcsEmailSenderTests.Settings(acs)).Build());
        await using var provider = services.BuildServiceProvider();
        Assert.True(EmailAddress.TryParse("ana@example.com", out var to));
        var now = DateTimeOffset.UtcNow;
        await provider.GetRequiredService<IEmailCodeSender>().SendAsync(new EmailCodeMessage("v1", to, "482913", "Contoso", now.AddMinutes(10), Guid.NewGuid(), now), default);
        var ours = Assert.Single(acs.Requests, r => r.Method == "POST" && r != official);

        Assert.Equal(0, acs.Unauthenticated);
        Assert.Equal(2, acs.Sent.Count);
        Assert.Equal((official.Path, official.Query), (ours.Path, ours.Query));
        Assert.Subset(ours.Headers.ToHashSet(), official.Headers.Intersect(["content-type", "x-ms-date", "x-ms-content-sha256", "authorization", "host", "operation-id"]).ToHashSet());
        Assert.Contains("operation-id", official.Headers);
        Assert.Equal(Shape(official.Body), Shape(ours.Body).Intersect(Shape(official.Body)).ToHashSet());
    }

    /// <summary>The JSON paths of a body (<c>recipients.to[].address</c>), whatever their values.</summary>
    private static HashSet<string> Shape(string json)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        Walk(JsonDocument.Parse(json).RootElement, string.Empty);
        return paths;

        void Walk(JsonElement element, string path)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        Walk(property.Value, path.Length == 0 ? property.Name : $"{path}.{property.Name}");
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        Walk(item, $"{path}[]");
                    }

                    break;
                default:
                    paths.Add(path);
                    break;
            }
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string command, string arguments, string directory)
    {
        var (exitCode, output, _) = await RunCoreAsync(command, arguments, directory);
        return (exitCode, output);
    }

    /// <returns>The exit code, everything it wrote (for a failure's message), and its standard output alone.</returns>
    private static Task<(int ExitCode, string Output, string StandardOutput)> RunNodeAsync(string arguments, string directory) =>
        RunCoreAsync("node", arguments, directory);

    private static async Task<(int ExitCode, string Output, string StandardOutput)> RunCoreAsync(string command, string arguments, string directory)
    {
        using var process = Process.Start(new ProcessStartInfo(command, arguments) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true })!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var errors = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, $"{await output}\n{await errors}", await output);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
    }
}
