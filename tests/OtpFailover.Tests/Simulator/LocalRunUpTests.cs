using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using OtpFailover.Simulator;
using OtpFailover.Tests.Infrastructure;

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
    private readonly string _root = Directory.CreateTempSubdirectory("otpfailover-up-repo-").FullName;
    private TestApp _app = null!;
    private WebApplication _functions = null!;
    private Uri _functionsUrl = null!;

    public async Task InitializeAsync()
    {
        CopyRepository(ChildProcesses.RepositoryRoot, _root);
        (_functions, _functionsUrl) = await LoopbackFunctionHost.StartAsync(() => _app);
        var simulator = new Uri($"http://127.0.0.1:{LocalRun.SimulatorPort}/");
        _app = await SimulatorWiring.StartAppAgainstAsync(simulator);

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
              const failing = process.env.FAKE_HOST_STATE === 'Error';
              const workerDown = process.env.FAKE_HOST_STATE === 'WorkerDown';
              const noFunctions = process.env.FAKE_HOST_STATE === 'NoFunctions';
              let polls = 0;
              http.createServer((req, res) => {
                if (req.url === '/admin/host/status') {
                  // As the host answers: Starting for a while, then Running, or Error with what stopped it.
                  polls++;
                  const state = failing ? (polls < 3 ? 'Starting' : 'Error') : (polls < 3 ? 'Starting' : 'Running');
                  const errors = state === 'Error' ? ['Microsoft.Azure.WebJobs.Extensions.DurableTask: ControlQueueVisibilityTimeout must be between 1 and 60 minutes.'] : null;
                  res.writeHead(200, { 'content-type': 'application/json' });
                  res.end(JSON.stringify({ id: 'standin', state, version: '4.1037.0.0', errors }));
                  return;
                }
                if (noFunctions) { res.writeHead(404); res.end(); return; }
                if (failing || workerDown) { res.writeHead(503, { 'content-type': 'text/plain' }); res.end('Function host is not running.'); return; }
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
        Directory.Delete(_fakes, recursive: true);
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>
    /// What <c>up</c> needs of the repository, without build output: it makes local settings and builds there, and
    /// this keeps it away from the developer's own <c>local.settings.json</c> and from the builds of the test run.
    /// </summary>
    private static void CopyRepository(string from, string to)
    {
        foreach (var file in new[] { "Functions.sln", "global.json", "Directory.Build.props", "Directory.Packages.props", "host.json", "local.settings.sample.json", ".editorconfig", "nuget.config", "NuGet.config" })
        {
            if (File.Exists(Path.Combine(from, file)))
            {
                File.Copy(Path.Combine(from, file), Path.Combine(to, file));
            }
        }

        var skipped = new[] { "bin", "obj", "node_modules" };
        foreach (var file in Directory.EnumerateFiles(Path.Combine(from, "src"), "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => skipped.Contains(part) || part == "local.settings.json"))
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, relative))!);
            File.Copy(file, Path.Combine(to, relative));
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private void Fake(string command, string script) => ChildProcesses.WriteExecutable(_fakes, command, script);

    [SkippableTheory]
    // The host opens port 7071 and then fails to start (an extension refused host.json): every call answers 503.
    [InlineData("Error", "Step 'Function app' failed: the Functions host did not start", "ControlQueueVisibilityTimeout must be between 1 and 60 minutes")]
    // The host runs, but the app's worker does not (a setting the app refused at its own start-up).
    [InlineData("WorkerDown", "Step 'Function app' failed: the app was not running within 10 seconds", "the app's functions answer HTTP 503")]
    // The host runs but no function loaded: its bare 404 for the route is not the app's answer.
    [InlineData("NoFunctions", "Step 'Function app' failed: the app was not running within 10 seconds", "without the app's problem details")]
    public async Task Up_WhenTheAppDoesNotStart_PrintsWhy_ExitsNonZero_AndNeverSaysWhereToClick(string hostState, string failure, string why)
    {
        Skip.If(OperatingSystem.IsWindows(), "the stand-ins are sh scripts");
        Skip.If(LocalRun.MissingPrerequisites((command, arguments) => command == "func" ? "4.0.7030" : LocalRun.VersionOf(command, arguments)).Count > 0, "the func stand-in relays with node 20 or later");
        await Azurite.EnsureRunningAsync();

        var (up, output) = Up(("FAKE_HOST_STATE", hostState), ("OTPFAILOVER_UP_WAIT_SECONDS", "10"));
        using (up)
        {
            await ExitOrKillAsync(up, TimeSpan.FromMinutes(4));

            var text = Text(output);
            Assert.NotEqual(0, up.ExitCode);
            Assert.Contains(failure, text, StringComparison.Ordinal);
            Assert.Contains(why, text, StringComparison.Ordinal);
            Assert.DoesNotContain("OtpFailover is running.", text, StringComparison.Ordinal);
        }

        var funcPid = int.Parse(File.ReadAllText(Path.Combine(_fakes, "func.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await Eventually.WaitUntilAsync(() => !IsRunning(funcPid), TimeSpan.FromSeconds(15), "the func stand-in to be stopped");
    }

    /// <summary>Waits for a run to end by itself; one still running after <paramref name="patience"/> is killed, with its children.</summary>
    private static async Task ExitOrKillAsync(Process process, TimeSpan patience)
    {
        try
        {
            using var timeout = new CancellationTokenSource(patience);
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private (Process Process, StringBuilder Output) Up(params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _root };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OtpFailover.Simulator.dll"));
        start.ArgumentList.Add("up");
        foreach (var (name, value) in SimulatorWiring.SimulatorSettings())
        {
            start.ArgumentList.Add($"--{name}={value}");
        }

        start.Environment["PATH"] = $"{_fakes}:{Environment.GetEnvironmentVariable("PATH")}";
        start.Environment["FAKE_HOME"] = _fakes;
        start.Environment["FAKE_FUNCTIONS_URL"] = _functionsUrl.ToString();
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

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
        Skip.If(LocalRun.MissingPrerequisites((command, arguments) => command == "func" ? "4.0.7030" : LocalRun.VersionOf(command, arguments)).Count > 0, "the func stand-in relays with node 20 or later");
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
            Assert.Equal(Path.Combine(_root, "artifacts", "func"), File.ReadAllText(Path.Combine(_fakes, "func.cwd")).Trim());
            Assert.Equal(await File.ReadAllTextAsync(Path.Combine(_root, "local.settings.sample.json")), await File.ReadAllTextAsync(Path.Combine(_root, "src", "OtpFailover.Functions", "local.settings.json")));

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
            using (second)
            {
                await ExitOrKillAsync(second, TimeSpan.FromMinutes(2));

                Assert.Equal(3, second.ExitCode);
                Assert.Contains("already in use: is another 'up' running?", Text(secondOutput), StringComparison.Ordinal);
            }

            Assert.Equal(["func start"], File.ReadAllLines(Path.Combine(_fakes, "steps.log")));

            // Ctrl+C (SIGINT) stops the run and every process it started.
            var funcPid = int.Parse(File.ReadAllText(Path.Combine(_fakes, "func.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            using (var interrupt = Process.Start("kill", ["-INT", up.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await interrupt.WaitForExitAsync();
            }

            await up.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
            await Eventually.WaitUntilAsync(() => !IsRunning(funcPid), TimeSpan.FromSeconds(15), "the func stand-in to be gone");
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
