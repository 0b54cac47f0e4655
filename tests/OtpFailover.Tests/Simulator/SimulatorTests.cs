using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Simulator;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;

namespace OtpFailover.Tests.Simulator;

/// <summary>
/// The local run, over real sockets: the simulator's try-it proxy calls the function app's API, the real provider
/// clients call the simulator, and the simulator's signed webhooks and delivery reports call the function app back.
/// </summary>
public sealed class SimulatorTests : IAsyncLifetime
{
    private TestApp _app = null!;
    private WebApplication _simulator = null!;
    private WebApplication _functions = null!;
    private HttpClient _browser = null!;

    public async Task InitializeAsync()
    {
        (_functions, var functionsUrl) = await LoopbackFunctionHost.StartAsync(() => _app);
        _simulator = SimulatorApp.Build([], builder =>
        {
            builder.WebHost.UseSetting("urls", "http://127.0.0.1:0");
            var settings = SimulatorWiring.SimulatorSettings();
            settings["Simulator:FunctionAppUrl"] = functionsUrl.ToString();
            settings["Simulator:ReadDelay"] = "00:00:00.300";
            builder.Configuration.AddInMemoryCollection(settings);
        });
        await _simulator.StartAsync();
        var simulatorUrl = LoopbackStandIn.ListeningUrl(_simulator);

        _app = await SimulatorWiring.StartAppAgainstAsync(simulatorUrl);
        _browser = new HttpClient { BaseAddress = simulatorUrl };
    }

    public async Task DisposeAsync()
    {
        _browser.Dispose();
        await _functions.DisposeAsync();
        await _simulator.DisposeAsync();
        await _app.DisposeAsync();
    }

    private async Task<JsonElement> InboxAsync(string number) =>
        (await _browser.GetFromJsonAsync<JsonElement>($"api/inbox/{number}"))!;

    private async Task<JsonElement> WaitForInboxAsync(string number, Func<JsonElement, bool> condition, string what)
    {
        JsonElement inbox = default;
        await Eventually.WaitUntilAsync(async () => condition(inbox = await InboxAsync(number)), TimeSpan.FromSeconds(20), what);
        return inbox;
    }

    private async Task<JsonElement> StartAsync(string phoneNumber)
    {
        var response = await _browser.PostAsJsonAsync("try/verifications", new { phoneNumber });
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<List<string?>> TimelineAsync(string id) =>
        [.. (await _browser.GetFromJsonAsync<JsonElement>($"try/verifications/{id}")).GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("type").GetString())];

    [Fact]
    public async Task ADeliveringNumber_GetsTheCodeOnWhatsApp_TheSignedStatusComesBack_AndTheCodeApproves()
    {
        var started = await StartAsync("+14155550100");
        var id = started.GetProperty("id").GetString()!;

        var inbox = await WaitForInboxAsync("14155550100", i => i.GetProperty("messages").EnumerateArray().Any(m => m.GetProperty("state").GetString() == "delivered"), "the WhatsApp message to be delivered");
        var message = inbox.GetProperty("messages")[0];
        Assert.Equal("whatsapp", message.GetProperty("channel").GetString());
        await Eventually.WaitUntilAsync(async () => (await TimelineAsync(id)).Contains(TimelineEventTypes.WhatsAppDelivered), TimeSpan.FromSeconds(10), "the delivered status on the timeline");

        var check = await _browser.PostAsJsonAsync($"try/verifications/{id}/check", new { code = message.GetProperty("code").GetString() });

        Assert.Equal(System.Net.HttpStatusCode.OK, check.StatusCode);
        Assert.Equal(VerificationStatus.Approved, (await _app.WaitForCompletionAsync(id)).ReadOutputAs<VerificationStatus>());
        Assert.Single((await InboxAsync("14155550100")).GetProperty("messages").EnumerateArray());
    }

    [Fact]
    public async Task ASilentNumber_GetsTheSameCodeBySms_AfterTheTimeout_WithADeliveryReport()
    {
        var id = (await StartAsync("+14155550106")).GetProperty("id").GetString()!;

        var inbox = await WaitForInboxAsync("14155550106", i => i.GetProperty("messages").EnumerateArray().Any(m => m.GetProperty("channel").GetString() == "sms" && m.GetProperty("state").GetString() == "delivered"), "the SMS to be delivered");

        var messages = inbox.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["whatsapp", "sms"], messages.Select(m => m.GetProperty("channel").GetString()));
        Assert.Equal(messages[0].GetProperty("code").GetString(), messages[1].GetProperty("code").GetString());
        Assert.Equal("sent", messages[0].GetProperty("state").GetString());
        await Eventually.WaitUntilAsync(async () => (await TimelineAsync(id)).Contains(TimelineEventTypes.SmsDelivered), TimeSpan.FromSeconds(10), "the delivery report on the timeline");
        Assert.Contains("timeout", (await _browser.GetStringAsync($"try/verifications/{id}")));
    }

    [Fact]
    public async Task ANumberNotOnWhatsApp_GetsTheSmsAtOnce()
    {
        var id = (await StartAsync("+14155550108")).GetProperty("id").GetString()!;

        var inbox = await WaitForInboxAsync("14155550108", i => i.GetProperty("messages").GetArrayLength() > 0, "the SMS");

        Assert.Equal("sms", Assert.Single(inbox.GetProperty("messages").EnumerateArray()).GetProperty("channel").GetString());
        Assert.Contains("whatsapp_131026_undeliverable", await _browser.GetStringAsync($"try/verifications/{id}"));
    }

    [Fact]
    public async Task ChoosingABehaviourOnTheInboxPage_ChangesWhatTheNumberDoes()
    {
        var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["whatsApp"] = "Undeliverable", ["sms"] = "Failed" });

        var chosen = await _browser.PostAsync("inbox/14155550100/behaviour", form);
        var inbox = await InboxAsync("14155550100");
        var page = await _browser.GetStringAsync("inbox/14155550100");

        Assert.True(chosen.IsSuccessStatusCode || (int)chosen.StatusCode == 302);
        Assert.Equal("Undeliverable", inbox.GetProperty("whatsApp").GetString());
        Assert.Equal("Failed", inbox.GetProperty("sms").GetString());
        Assert.Contains("<option selected>Undeliverable</option>", page);
    }

    /// <summary>
    /// The pages as a person uses them, in headless Chromium (Debian's package, driven by playwright-core; no browser
    /// download). Required in CI (which installs both); skipped, with the reason, on a machine without them.
    /// </summary>
    [SkippableFact]
    public async Task InHeadlessChromium_TheInboxShowsTheCode_TheBehaviourFormWorks_AndTheTryItPanelDrawsTheTimeline()
    {
        var chromium = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium";
        var available = File.Exists(chromium) && LocalRun.VersionOf("node", "--version") is not null;
        if (Environment.GetEnvironmentVariable("CI") != "true")
        {
            Skip.IfNot(available, $"Needs Chromium at {chromium} (apt-get install chromium, or set CHROMIUM_PATH) and Node.js.");
        }

        var scripts = Path.Combine(LocalRun.FindRepositoryRoot(AppContext.BaseDirectory)!, "tests", "OtpFailover.Tests", "Browser");
        if (!Directory.Exists(Path.Combine(scripts, "node_modules", "playwright-core")))
        {
            Assert.Equal(0, (await RunAsync("npm", "ci --no-fund --no-audit --loglevel=error", scripts)).ExitCode);
        }

        await StartAsync("+14155550102");
        var inbox = await WaitForInboxAsync("14155550102", i => i.GetProperty("messages").EnumerateArray().Any(m => m.GetProperty("state").GetString() == "delivered"), "delivery");

        var (exitCode, output) = await RunAsync("node", $"simulator-pages.mjs {_browser.BaseAddress} 14155550102 +14155550103 +14155550105", scripts);

        Assert.True(exitCode == 0, output);
        var seen = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(inbox.GetProperty("messages")[0].GetProperty("code").GetString(), seen.GetProperty("code").GetString());
        Assert.Equal("delivered", seen.GetProperty("state").GetString());
        Assert.Equal("Silent", seen.GetProperty("chosen").GetProperty("whatsApp").GetString());
        Assert.Equal("Failed", seen.GetProperty("chosen").GetProperty("sms").GetString());
        Assert.Equal("Silent", (await InboxAsync("14155550102")).GetProperty("whatsApp").GetString());
        var timeline = seen.GetProperty("timeline").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(["created", "whatsapp.sent"], timeline.Take(2));
        var refusal = seen.GetProperty("refusal");
        Assert.Equal("429", refusal.GetProperty("status").GetString());
        Assert.Equal("urn:otpfailover:problem:too-many-starts", refusal.GetProperty("type").GetString());
        Assert.StartsWith("429 Too many verifications for this number.", refusal.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Contains("Retry-After", refusal.GetProperty("text").GetString(), StringComparison.Ordinal);
        var plan = seen.GetProperty("plan");
        var before = plan.GetProperty("before").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.True(before[0] is "sms: sent" or "sms: delivered", before[0]); // the simulated SMS may be delivered by then
        Assert.Equal("whatsapp: planned", before[1]);
        Assert.StartsWith("sms: ", plan.GetProperty("after")[0].GetString(), StringComparison.Ordinal);
        Assert.StartsWith("whatsapp: ", plan.GetProperty("current").GetString(), StringComparison.Ordinal);
        Assert.Contains("es tu codigo de verificacion", plan.GetProperty("smsText").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheTryItProxy_PassesA429On_WithItsProblemAndRetryAfter()
    {
        HttpResponseMessage response;
        var starts = 0;
        do
        {
            response = await _browser.PostAsJsonAsync("try/verifications", new { phoneNumber = "+14155550104" });
            starts++;
        }
        while (response.StatusCode == System.Net.HttpStatusCode.Accepted && starts < 10);

        Assert.Equal(6, starts);
        Assert.Equal(429, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Contains("too-many-starts", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("id=\"notice\"", await _browser.GetStringAsync("/"), StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string command, string arguments, string directory)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(command, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task TheInboxPage_ShowsTheCodeAndItsState()
    {
        await StartAsync("+14155550101");
        var inbox = await WaitForInboxAsync("14155550101", i => i.GetProperty("messages").EnumerateArray().Any(m => m.GetProperty("state").GetString() == "delivered"), "delivery");
        var code = inbox.GetProperty("messages")[0].GetProperty("code").GetString()!;

        var page = await _browser.GetStringAsync("inbox/14155550101");
        var home = await _browser.GetStringAsync("/");

        Assert.Contains($"<span class=\"code\">{code}</span>", page);
        Assert.Contains("class=\"state delivered\"", page);
        Assert.Contains("/inbox/14155550101", home);
    }
}
