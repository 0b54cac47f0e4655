using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using OtpFailover.Simulator;
using OtpFailover.Tests.Deployment;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Tests.Sms;
using OtpFailover.Tests.WhatsApp;

namespace OtpFailover.Tests.Simulator;

/// <summary>
/// The whole <c>up</c> run, in a child process, with stand-in <c>func</c> and <c>npx</c> first on PATH (Core Tools
/// cannot be installed here). The stand-in <c>func start</c> records where and how it was started, checks the folder
/// holds what Core Tools needs, and serves the app's HTTP functions on port 7071 by relaying to the loopback host the
/// tests already have, so the simulator's try-it flow runs end to end.
/// </summary>
public sealed class LocalRunUpTests : IAsyncLifetime
{
    private readonly string _fakes = Directory.CreateTempSubdirectory("otpfailover-up-").FullName;
    private readonly string _settings = Path.Combine(Bicep.RepositoryRoot, "src", "OtpFailover.Functions", "local.settings.json");
    private string? _settingsBefore;
    private TestApp _app = null!;
    private WebApplication _functions = null!;
    private Uri _functionsUrl = null!;

    public async Task InitializeAsync()
    {
        _settingsBefore = File.Exists(_settings) ? await File.ReadAllTextAsync(_settings) : null;
        File.Delete(_settings);
        (_functions, _functionsUrl) = await LoopbackFunctionHost.StartAsync(() => _app);
        var simulator = new Uri($"http://127.0.0.1:{LocalRun.SimulatorPort}/");
        _app = await TestApp.StartAsync(services: s =>
        {
            WhatsAppStandIns.UseCloudApi(s, simulator);
            AcsStandIns.UseAcs(s, new Dictionary<string, string?>
            {
                ["Sms:ConnectionString"] = $"endpoint={simulator};accesskey={Convert.ToBase64String(AcsStandIns.AccessKey)}",
                ["Sms:From"] = "+18005550100",
                ["Sms:WebhookKey"] = TestSecrets.SmsWebhookKey,
            });
        });

        Fake("npx", """
            #!/bin/sh
            echo "npx $*" >> "$FAKE_HOME/steps.log"
            """);
        Fake("func", """
            #!/bin/sh
            if [ "$1" = "--version" ]; then echo "4.0.7030"; exit 0; fi
            echo "func $*" >> "$FAKE_HOME/steps.log"
            pwd > "$FAKE_HOME/func.cwd"
            env > "$FAKE_HOME/func.env"
            for file in host.json functions.metadata worker.config.json local.settings.json; do
              [ -f "$file" ] || { echo "func stand-in: no $file in $(pwd)" >&2; exit 7; }
            done
            echo $$ > "$FAKE_HOME/func.pid"
            exec node -e "
              const http = require('http'); const target = new URL(process.env.FAKE_FUNCTIONS_URL);
              http.createServer((req, res) => {
                const relay = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, answer => { res.writeHead(answer.statusCode, answer.headers); answer.pipe(res); });
                relay.on('error', e => { res.writeHead(502); res.end(String(e)); });
                req.pipe(relay);
              }).listen(7071, '127.0.0.1');"
            """);
    }

    public async Task DisposeAsync()
    {
        await _functions.DisposeAsync();
        await _app.DisposeAsync();
        File.Delete(_settings);
        if (_settingsBefore is not null)
        {
            await File.WriteAllTextAsync(_settings, _settingsBefore);
        }

        Directory.Delete(_fakes, recursive: true);
    }

    private void Fake(string command, string script)
    {
        var path = Path.Combine(_fakes, command);
        File.WriteAllText(path, script.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private (Process Process, StringBuilder Output) Up()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Bicep.RepositoryRoot };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OtpFailover.Simulator.dll"));
        start.ArgumentList.Add("up");
        foreach (var (name, value) in new Dictionary<string, string>
        {
            ["Simulator:WhatsAppAccessToken"] = TestSecrets.AccessToken,
            ["Simulator:WhatsAppPhoneNumberId"] = TestSecrets.PhoneNumberId,
            ["Simulator:WhatsAppAppSecret"] = TestSecrets.AppSecret,
            ["Simulator:AcsAccessKey"] = Convert.ToBase64String(AcsStandIns.AccessKey),
            ["Simulator:AcsWebhookKey"] = TestSecrets.SmsWebhookKey,
            ["Simulator:DeliveryDelay"] = "00:00:00.300",
        })
        {
            start.ArgumentList.Add($"--{name}={value}");
        }

        start.Environment["PATH"] = $"{_fakes}:{Environment.GetEnvironmentVariable("PATH")}";
        start.Environment["FAKE_HOME"] = _fakes;
        start.Environment["FAKE_FUNCTIONS_URL"] = _functionsUrl.ToString();
        var output = new StringBuilder();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, output);
    }

    private static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    [SkippableFact]
    public async Task Up_RunsItsStepsInOrder_TheTryItFlowCompletes_ASecondUpSaysSo_AndCtrlCLeavesNoChildBehind()
    {
        Skip.If(OperatingSystem.IsWindows(), "the stand-ins are sh scripts");
        Skip.If(LocalRun.VersionOf("node", "--version") is null, "the func stand-in relays with node");
        await Azurite.EnsureRunningAsync();

        var (up, output) = Up();
        try
        {
            await Eventually.WaitUntilAsync(() => Text(output).Contains("OtpFailover is running.", StringComparison.Ordinal) || up.HasExited, TimeSpan.FromMinutes(4), "up to say where to click");
            var text = Text(output);
            Assert.False(up.HasExited, text);

            // The steps, in order, each announced; Azurite was already running (the tests' own), so npx was not asked.
            var steps = new[] { "[1/4] Settings", "[2/4] Azurite: already listening", "[3/4] Build", "[4/4] Function app", "OtpFailover is running.", "Simulator   http://127.0.0.1:7171", "API         http://localhost:7071/api/verifications", "Requests    src/OtpFailover.Functions/Http/verifications.http", "Stop        Ctrl+C" };
            Assert.Equal(steps.Length, steps.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).Distinct().Count());
            Assert.True(steps.Select(s => text.IndexOf(s, StringComparison.Ordinal)).SequenceEqual(steps.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Order()), text);
            Assert.Equal(["func start"], File.ReadAllLines(Path.Combine(_fakes, "steps.log")));

            // func ran inside the build output, and local.settings.json was made from the sample.
            Assert.Equal(Path.Combine(Bicep.RepositoryRoot, "artifacts", "func"), File.ReadAllText(Path.Combine(_fakes, "func.cwd")).Trim());
            Assert.Equal(await File.ReadAllTextAsync(Path.Combine(Bicep.RepositoryRoot, "local.settings.sample.json")), await File.ReadAllTextAsync(_settings));

            // The try-it flow: start through the simulator, read the code in the inbox, check it.
            using var browser = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{LocalRun.SimulatorPort}/") };
            var started = await browser.PostAsJsonAsync("try/verifications", new { phoneNumber = "+14155550100" });
            Assert.True(started.StatusCode == System.Net.HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync());
            var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            string? code = null;
            await Eventually.WaitUntilAsync(async () =>
            {
                var inbox = await browser.GetFromJsonAsync<JsonElement>("api/inbox/14155550100");
                code = inbox.GetProperty("messages").EnumerateArray().Select(m => m.TryGetProperty("code", out var c) ? c.GetString() : null).FirstOrDefault(c => c is not null);
                return code is not null;
            }, TimeSpan.FromSeconds(20), "the code in the inbox");
            var checkedCode = await browser.PostAsJsonAsync($"try/verifications/{id}/check", new { code });
            Assert.True(checkedCode.IsSuccessStatusCode, await checkedCode.Content.ReadAsStringAsync());

            // A second up while this one runs says so, and starts nothing.
            var (second, secondOutput) = Up();
            await second.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
            Assert.Equal(3, second.ExitCode);
            Assert.Contains("already in use: is another 'up' running?", Text(secondOutput), StringComparison.Ordinal);
            Assert.Equal(["func start"], File.ReadAllLines(Path.Combine(_fakes, "steps.log")));

            // Ctrl+C (SIGINT) stops the run and every process it started.
            var funcPid = int.Parse(File.ReadAllText(Path.Combine(_fakes, "func.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            using (var interrupt = Process.Start("kill", ["-INT", up.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await interrupt.WaitForExitAsync();
            }

            await up.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
            await Eventually.WaitUntilAsync(() => !Directory.Exists($"/proc/{funcPid}"), TimeSpan.FromSeconds(10), "the func stand-in to be gone");
        }
        finally
        {
            if (!up.HasExited)
            {
                up.Kill(entireProcessTree: true);
            }

            up.Dispose();
        }
    }
}
