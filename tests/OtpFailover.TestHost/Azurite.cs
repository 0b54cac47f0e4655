using System.Diagnostics;
using System.Net.Sockets;

namespace OtpFailover.TestHost;

/// <summary>
/// The tests' storage: Azurite on 127.0.0.1 with its well-known development account. CI starts a pinned Azurite
/// first; on a developer's machine the tests start one through npx when none is listening, and stop it at exit.
/// </summary>
public static class Azurite
{
    public const string ConnectionString = "UseDevelopmentStorage=true";
    public const string Version = "3.37.0";
    private const int TablePort = 10002;
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static bool s_ready;
    private static Process? s_started;

    public static async Task EnsureRunningAsync()
    {
        if (s_ready)
        {
            return;
        }

        await Gate.WaitAsync();
        try
        {
            if (s_ready)
            {
                return;
            }

            if (!await IsListeningAsync(TablePort))
            {
                await StartAsync();
            }

            s_ready = true;
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task StartAsync()
    {
        var location = Path.Combine(Path.GetTempPath(), $"otpfailover-azurite-{Environment.ProcessId}");
        Directory.CreateDirectory(location);
        var start = new ProcessStartInfo("npx", $"--yes azurite@{Version} --silent --skipApiVersionCheck --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 --location \"{location}\"")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        try
        {
            s_started = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"Azurite is not running on 127.0.0.1:{TablePort} and npx could not start it (install Node.js 20+, or start Azurite yourself).", ex);
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            if (await IsListeningAsync(TablePort))
            {
                return;
            }

            if (s_started is { HasExited: true })
            {
                throw new InvalidOperationException($"Azurite exited with code {s_started.ExitCode}: {await s_started.StandardError.ReadToEndAsync()}");
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"Azurite did not open 127.0.0.1:{TablePort} within two minutes.");
    }

    private static void Stop()
    {
        try
        {
            s_started?.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }

    private static async Task<bool> IsListeningAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync("127.0.0.1", port).WaitAsync(TimeSpan.FromSeconds(2));
            return true;
        }
        catch (Exception ex) when (ex is SocketException or TimeoutException)
        {
            return false;
        }
    }

    /// <summary>A table name no other test uses.</summary>
    public static string UniqueTableName(string prefix = "t") => $"{prefix}{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 32)];
}
