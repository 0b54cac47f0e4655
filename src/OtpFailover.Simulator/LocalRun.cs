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
        try
        {
            using var process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
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

    public async Task<int> StartAppAsync(CancellationToken stopping)
    {
        EnsureLocalSettings();
        if (!IsListening(10002))
        {
            output.WriteLine($"Starting Azurite {AzuriteVersion} on 127.0.0.1 (data in .azurite/)...");
            Start("npx", $"--yes azurite@{AzuriteVersion} --silent --skipApiVersionCheck --location .azurite", repositoryRoot);
        }

        output.WriteLine("Building the function app into artifacts/func...");
        using (var build = Process.Start(new ProcessStartInfo("dotnet", "build src/OtpFailover.Functions -o artifacts/func --nologo -v quiet") { WorkingDirectory = repositoryRoot, UseShellExecute = false })!)
        {
            await build.WaitForExitAsync(stopping);
            if (build.ExitCode != 0)
            {
                output.WriteLine("The build failed; see above.");
                return build.ExitCode;
            }
        }

        output.WriteLine("Starting the function app (func start) on http://localhost:7071...");
        Start("func", "start", Path.Combine(repositoryRoot, "artifacts", "func"));
        return 0;
    }

    /// <summary>Stops every process this run started, with their children.</summary>
    public void StopAll()
    {
        foreach (var process in _started)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }

        _started.Clear();
    }

    private void Start(string command, string arguments, string workingDirectory) =>
        _started.Add(Process.Start(new ProcessStartInfo(command, arguments) { WorkingDirectory = workingDirectory, UseShellExecute = false })!);

    private static bool IsListening(int port)
    {
        using var client = new TcpClient();
        try
        {
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
