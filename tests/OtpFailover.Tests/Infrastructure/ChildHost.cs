using System.Diagnostics;
using System.Threading.Channels;

namespace OtpFailover.Tests.Infrastructure;

/// <summary>
/// The app in a child process (<c>OtpFailover.TestHost</c>: HTTP functions, durable worker and the Azure Storage
/// backend, as a Functions host runs them), so a test can kill it with SIGKILL, mid-flight, and start it again.
/// </summary>
public sealed class ChildHost : IAsyncDisposable
{
    private readonly Dictionary<string, string> _environment;
    private Process? _process;
    private Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _output = [];

    public ChildHost(IReadOnlyDictionary<string, string> environment) => _environment = new Dictionary<string, string>(environment);

    /// <summary>Where the running child serves the app's HTTP functions.</summary>
    public Uri BaseUrl { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Everything the child printed so far (its standard output and error), for a failing test's message.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output.TakeLast(60));
            }
        }
    }

    /// <summary>Starts the child and waits until it serves requests.</summary>
    public async Task StartAsync()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "OtpFailover.TestHost.dll");
        var start = new ProcessStartInfo("dotnet", $"\"{dll}\"")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }

        _lines = Channel.CreateUnbounded<string>();
        _process = Process.Start(start) ?? throw new InvalidOperationException("The test host did not start.");
        _ = PumpAsync(_process.StandardOutput, _lines.Writer);
        _ = PumpAsync(_process.StandardError, null);
        var ready = await WaitForLineAsync("READY ", TimeSpan.FromSeconds(90));
        BaseUrl = new Uri(ready["READY ".Length..].TrimEnd('/') + "/");
    }

    /// <summary>Waits for the child to print a line starting with <paramref name="prefix"/>.</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var line = await _lines.Reader.ReadAsync(cancel.Token);
                if (line.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return line;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            throw new TimeoutException($"The test host did not print '{prefix}' within {timeout} (exited: {_process?.HasExited}).\n{Output}", ex);
        }
    }

    /// <summary>Kills the child at once (SIGKILL): no shutdown, no flush, nothing finished.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }

    private async Task PumpAsync(StreamReader reader, ChannelWriter<string>? writer)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (_output)
            {
                _output.Add(line);
            }

            if (writer is not null)
            {
                await writer.WriteAsync(line);
            }
        }

        writer?.TryComplete();
    }
}
