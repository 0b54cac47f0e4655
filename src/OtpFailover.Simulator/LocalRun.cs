using System.Diagnostics;
using System.Net.Sockets;

namespace OtpFailover.Simulator;

/// <summary>
/// <c>dotnet run --project src/OtpFailover.Simulator -- up</c>: checks the prerequisites, makes
/// <c>local.settings.json</c> from the sample when it is missing, starts Azurite, builds the function app into
/// <c>artifacts/func</c> and runs <c>func start</c> there, and runs the simulator. Ctrl+C stops everything it started.
/// </summary>
public sealed class LocalRun(string repositoryRoot, TextWriter output)
{
    public const string AzuriteVersion = "3.37.0";
    private readonly List<Process> _started = [];

    /// <summary>What is missing, each with the exact thing to install; empty when all is there.</summary>
    public static IReadOnlyList<string> MissingPrerequisites(Func<string, string, string?> versionOf)
    {
        ArgumentNullException.ThrowIfNull(versionOf);
        var missing = new List<string>();
        if (versionOf("node", "--version") is not { } node || !int.TryParse(node.TrimStart('v').Split('.')[0], out var major) || major < 20)
        {
            missing.Add("Node.js 20 or later (runs Azurite): https://nodejs.org/en/download");
        }

        if (versionOf("func", "--version") is not { } func || !func.StartsWith('4'))
        {
            missing.Add("Azure Functions Core Tools v4 (func): npm install -g azure-functions-core-tools@4 --unsafe-perm true, or see https://learn.microsoft.com/azure/azure-functions/functions-run-local");
        }

        return missing;
    }

    /// <summary>The first line a command prints for its version, or null when it cannot be run.</summary>
    public static string? VersionOf(string command, string arguments)
    {
        if (CommandResolver.StartInfo(command, arguments, CommandEnvironment.Current) is not { } start)
        {
            return null;
        }

        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        try
        {
            using var process = Process.Start(start);
            if (process is null || !process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                return null;
            }

            return process.ExitCode == 0 ? process.StandardOutput.ReadLine()?.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>Finds the repository (the folder holding Functions.sln) from <paramref name="start"/> upwards.</summary>
    public static string? FindRepositoryRoot(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Functions.sln")))
            {
                return directory.FullName;
            }
        }

        return null;
    }

    /// <summary>Copies the sample settings when the app has none; returns whether it did.</summary>
    public bool EnsureLocalSettings()
    {
        var target = Path.Combine(repositoryRoot, "src", "OtpFailover.Functions", "local.settings.json");
        if (File.Exists(target))
        {
            return false;
        }

        File.Copy(Path.Combine(repositoryRoot, "local.settings.sample.json"), target);
        output.WriteLine($"Made {Path.GetRelativePath(repositoryRoot, target)} from local.settings.sample.json (it points at the simulator).");
        return true;
    }

    /// <summary>The ports the run needs for itself; a second <c>up</c> finds them taken and says so.</summary>
    public static readonly (int Port, string Owner)[] OwnPorts = [(FunctionAppPort, "the function app (func start)"), (SimulatorPort, "the simulator")];

    public const int FunctionAppPort = 7071;

    /// <summary>How long the function app may take to run after its port opened (<c>OTPFAILOVER_UP_WAIT_SECONDS</c>).</summary>
    public TimeSpan HostPatience { get; set; } = TimeSpan.FromMinutes(3);
    public const int SimulatorPort = 7171;

    /// <summary>
    /// Starts Azurite (unless one is running), builds the function app and starts <c>func start</c> in its output.
    /// Each step prints one line as it starts, and a failure names its step. Returns 0, or the exit code to end with.
    /// </summary>
    public async Task<int> StartAppAsync(CancellationToken stopping)
    {
        output.WriteLine("[1/4] Settings: src/OtpFailover.Functions/local.settings.json");
        EnsureLocalSettings();

        if (AppReadiness.IsListening(10002))
        {
            output.WriteLine("[2/4] Azurite: already listening on 127.0.0.1:10000-10002, using it");
        }
        else
        {
            output.WriteLine($"[2/4] Azurite {AzuriteVersion}: starting on 127.0.0.1:10000-10002 (data in .azurite/)");
            var azurite = Start("npx", $"--yes azurite@{AzuriteVersion} --silent --skipApiVersionCheck --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 --location .azurite", repositoryRoot);
            if (azurite is null || !await AppReadiness.WaitForPortAsync(azurite, 10002, TimeSpan.FromMinutes(3), stopping))
            {
                return Failed("Azurite", azurite is null ? "npx was not found on PATH (it comes with Node.js)" : azurite.HasExited ? $"npx exited with code {azurite.ExitCode} (its output is above): is port 10000, 10001 or 10002 taken by something else?" : "it did not listen on 127.0.0.1:10002 within 3 minutes");
            }
        }

        output.WriteLine("[3/4] Build: src/OtpFailover.Functions into artifacts/func");
        var buildStart = CommandResolver.StartInfo("dotnet", "build src/OtpFailover.Functions -o artifacts/func --nologo -v quiet", CommandEnvironment.Current);
        if (buildStart is null)
        {
            return Failed("Build", "dotnet was not found on PATH");
        }

        buildStart.WorkingDirectory = repositoryRoot;
        var build = Track(Process.Start(buildStart)!);
        await build.WaitForExitAsync(stopping);
        if (build.ExitCode != 0)
        {
            return Failed("Build", $"dotnet build exited with code {build.ExitCode}; its errors are above");
        }

        output.WriteLine($"[4/4] Function app: func start in artifacts/func, on http://localhost:{FunctionAppPort}");
        var func = Start("func", "start", Path.Combine(repositoryRoot, "artifacts", "func"));
        if (func is null || !await AppReadiness.WaitForPortAsync(func, FunctionAppPort, TimeSpan.FromMinutes(3), stopping))
        {
            return Failed("Function app", func is null ? "func was not found on PATH" : func.HasExited ? $"Core Tools exited with code {func.ExitCode}; its output is above" : $"it did not listen on port {FunctionAppPort} within 3 minutes");
        }

        // The host opens its port before it has started (and keeps it open after failing to start, answering every
        // call 503): only its status says whether the app runs.
        var (running, why) = await AppReadiness.WaitForHostAsync(func, HostPatience, stopping);
        if (!running)
        {
            return Failed("Function app", why);
        }

        return 0;
    }

    /// <summary>
    /// Whether the ports the run needs for itself are free; says which is taken when one is (a second <c>up</c>, or
    /// another program). Checked before anything is started.
    /// </summary>
    public bool OwnPortsAreFree()
    {
        foreach (var (port, owner) in OwnPorts)
        {
            if (AppReadiness.IsListening(port))
            {
                output.WriteLine($"Port {port} (for {owner}) is already in use: is another 'up' running? Stop it (Ctrl+C in its window), or free the port, and run this again.");
                return false;
            }
        }

        return true;
    }

    /// <summary>The block that says where to click, once everything is up.</summary>
    public void PrintWhereToClick(string simulatorUrl)
    {
        output.WriteLine();
        output.WriteLine("OtpFailover is running.");
        output.WriteLine($"  Simulator   {simulatorUrl}            try-it panel: start a verification, read the code, check it");
        output.WriteLine($"  API         http://localhost:{FunctionAppPort}/api/verifications");
        output.WriteLine("  Requests    src/OtpFailover.Functions/Http/verifications.http");
        output.WriteLine("  Stop        Ctrl+C (stops Azurite, if this run started it, and the function app)");
    }

    private int Failed(string step, string why)
    {
        output.WriteLine($"Step '{step}' failed: {why}.");
        StopAll();
        return 1;
    }

    /// <summary>
    /// Stops every process this run started, with their children. A Ctrl+C in a terminal reaches them too, so each gets
    /// a few seconds to stop by itself (Azurite writes its data on the way out) before it is killed.
    /// </summary>
    public void StopAll()
    {
        List<Process> started;
        lock (_started)
        {
            started = [.. _started];
            _started.Clear();
        }

        var deadline = DateTime.UtcNow + GracePeriod;
        foreach (var process in started)
        {
            try
            {
                if (!process.WaitForExit(Max(deadline - DateTime.UtcNow, TimeSpan.Zero)))
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(TimeSpan.FromSeconds(10));
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or AggregateException or System.ComponentModel.Win32Exception)
            {
                // Gone already, or part of its tree went while it was walked: carry on with the others.
            }

            process.Dispose();
        }
    }

    /// <summary>How long the processes get to stop by themselves.</summary>
    public static TimeSpan GracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private Process Track(Process process)
    {
        lock (_started)
        {
            _started.Add(process);
        }

        return process;
    }

    /// <summary>Starts a command found on PATH (npm's .cmd shims through cmd.exe on Windows); null when it is not there.</summary>
    private Process? Start(string command, string arguments, string workingDirectory)
    {
        if (CommandResolver.StartInfo(command, arguments, CommandEnvironment.Current) is not { } start)
        {
            return null;
        }

        start.WorkingDirectory = workingDirectory;
        return Track(Process.Start(start)!);
    }

}
