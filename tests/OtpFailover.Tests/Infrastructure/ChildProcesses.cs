using System.Diagnostics;
using OtpFailover.Simulator;

namespace OtpFailover.Tests.Infrastructure;

/// <summary>The repository the tests run in, and the small scripts and commands tests run as child processes.</summary>
public static class ChildProcesses
{
    public static string RepositoryRoot => LocalRun.FindRepositoryRoot(AppContext.BaseDirectory)
        ?? throw new InvalidOperationException("The repository root (Functions.sln) was not found above the test output.");

    /// <summary>Writes a script as an executable file (a stand-in for a command tests put first on PATH).</summary>
    public static void WriteExecutable(string folder, string name, string script)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, script.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Runs a command to its end and returns its exit code with its output and errors.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(ProcessStartInfo start, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var patience = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(patience.Token);
        return (process.ExitCode, await output + await errors);
    }
}
