using System.Diagnostics;

namespace OtpFailover.Simulator;

/// <summary>What command resolution looks at: the platform, <c>PATH</c>, <c>PATHEXT</c> and the file system.</summary>
/// <param name="IsExecutable">Whether a path is a file this platform would run (on Unix: with an execute bit).</param>
public sealed record CommandEnvironment(bool IsWindows, string? Path, string? PathExt, string? ComSpec, Func<string, bool> IsExecutable)
{
    public static CommandEnvironment Current { get; } = new(
        OperatingSystem.IsWindows(),
        Environment.GetEnvironmentVariable("PATH"),
        Environment.GetEnvironmentVariable("PATHEXT"),
        Environment.GetEnvironmentVariable("ComSpec"),
        IsExecutableFile);

    private static bool IsExecutableFile(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(path) & anyExecute) != 0;
    }
}

/// <summary>
/// Finds <c>node</c>, <c>npx</c> and <c>func</c> the way a shell would. On Windows, npm installs them as <c>.cmd</c>
/// shims, which <see cref="Process.Start(ProcessStartInfo)"/> cannot run directly (<c>UseShellExecute = false</c>
/// runs executables only): those are started through <c>cmd.exe /d /s /c</c>.
/// </summary>
public static class CommandResolver
{
    private const string DefaultPathExt = ".COM;.EXE;.BAT;.CMD";

    private static readonly HashSet<string> Startable = new([".com", ".exe", ".bat", ".cmd"], StringComparer.OrdinalIgnoreCase);

    /// <summary>The full path of <paramref name="command"/> on <c>PATH</c>, or null when there is none.</summary>
    public static string? Find(string command, CommandEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(environment);
        var separator = environment.IsWindows ? ';' : ':';
        var folders = (environment.Path ?? string.Empty).Split(separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var extensions = environment.IsWindows
            ? (string.IsNullOrWhiteSpace(environment.PathExt) ? DefaultPathExt : environment.PathExt).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [];
        var hasExtension = environment.IsWindows && extensions.Any(e => command.EndsWith(e, StringComparison.OrdinalIgnoreCase));

        foreach (var folder in folders.Select(f => f.Trim('"')))
        {
            if (!environment.IsWindows || hasExtension)
            {
                var exact = Join(folder, command, environment.IsWindows);
                if (environment.IsExecutable(exact))
                {
                    return exact;
                }

                continue;
            }

            // Only what this app can start: executables, and batch files through cmd.exe (a .ps1 or .vbs is skipped).
            foreach (var extension in extensions.Where(e => Startable.Contains(e)))
            {
                var candidate = Join(folder, command + extension.ToLowerInvariant(), windows: true);
                if (environment.IsExecutable(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>How to start <paramref name="command"/> with <paramref name="arguments"/>, or null when it is not on <c>PATH</c>.</summary>
    public static ProcessStartInfo? StartInfo(string command, string arguments, CommandEnvironment environment)
    {
        if (Find(command, environment) is not { } path)
        {
            return null;
        }

        if (environment.IsWindows && (path.EndsWith(".cmd", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".bat", StringComparison.OrdinalIgnoreCase)))
        {
            // /s: cmd strips exactly the outer quotes, so the quoted path inside survives spaces ("C:\Program Files\...").
            return new ProcessStartInfo(string.IsNullOrWhiteSpace(environment.ComSpec) ? "cmd.exe" : environment.ComSpec, $"/d /v:off /s /c \"\"{path}\" {arguments}\"") { UseShellExecute = false };
        }

        return new ProcessStartInfo(path, arguments) { UseShellExecute = false };
    }

    private static string Join(string folder, string file, bool windows) =>
        windows ? folder.TrimEnd('\\', '/') + "\\" + file : Path.Combine(folder, file);
}
