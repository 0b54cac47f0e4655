using System.Diagnostics;
using System.Net.Sockets;

namespace OtpFailover.Simulator;

/// <summary>How <c>up</c> tells that what it started is ready: a port that listens, a Functions host that answers with its own route.</summary>
internal static class AppReadiness
{
    /// <summary>
    /// Polls the host's <c>/admin/host/status</c> until its <c>state</c> is <c>Running</c> and the app's own functions
    /// answer (the worker may fail its own start-up, a setting it refused, while the host runs). An <c>Error</c> state
    /// seen on three polls in a row (a setting the host or an extension refused), an exit, or no start within
    /// <paramref name="patience"/> is a failure, with the host's own errors.
    /// </summary>
    public static async Task<(bool Running, string Why)> WaitForHostAsync(Process func, TimeSpan patience, CancellationToken stopping)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var status = new Uri($"http://127.0.0.1:{LocalRun.FunctionAppPort}/admin/host/status");
        // A verification that cannot exist: the app answers 404 problem details once its worker runs.
        var probe = new Uri($"http://127.0.0.1:{LocalRun.FunctionAppPort}/api/verifications/{new string('0', 32)}");
        var until = DateTime.UtcNow + patience;
        var last = "no answer";
        var errors = 0;
        while (DateTime.UtcNow < until)
        {
            stopping.ThrowIfCancellationRequested();
            if (func.HasExited)
            {
                return (false, $"Core Tools exited with code {func.ExitCode} while the host was starting; its output is above");
            }

            try
            {
                using var response = await http.GetAsync(status, stopping);
                var body = await response.Content.ReadAsStringAsync(stopping);
                if (HostStatus.Read(body) is { } host)
                {
                    last = host.State;
                    errors = string.Equals(host.State, "Error", StringComparison.OrdinalIgnoreCase) ? errors + 1 : 0;
                    if (string.Equals(host.State, "Running", StringComparison.OrdinalIgnoreCase))
                    {
                        last = "Running, but the app's functions do not answer";
                        using var answer = await http.GetAsync(probe, stopping);
                        // The app's own answer is problem details (404 for that id; 401 where keys are enforced): a
                        // host whose worker never loaded the functions answers a bare 404 for the route.
                        if ((int)answer.StatusCode < 500 && answer.Content.Headers.ContentType?.MediaType == "application/problem+json")
                        {
                            return (true, string.Empty);
                        }

                        last = $"Running, but the app's functions answer HTTP {(int)answer.StatusCode}{((int)answer.StatusCode < 500 ? " without the app's problem details (no functions loaded?)" : string.Empty)}";
                    }
                    else if (errors >= 3)
                    {
                        return (false, $"the Functions host did not start: {(host.Errors.Count > 0 ? string.Join(" | ", host.Errors) : "it reports an error state without a message; its output is above")}");
                    }
                }
                else
                {
                    last = $"HTTP {(int)response.StatusCode}";
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stopping.IsCancellationRequested)
            {
                // Keeps what was seen last (a host that said Running and then did not answer the app's route stays so).
                last = last.StartsWith("Running", StringComparison.Ordinal) ? last : "no answer";
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), CancellationToken.None);
        }

        return (false, $"the app was not running within {patience.TotalSeconds:0} seconds (last seen: {last}); the output above says why");
    }

    public static async Task<bool> WaitForPortAsync(Process process, int port, TimeSpan patience, CancellationToken stopping)
    {
        var until = DateTime.UtcNow + patience;
        while (DateTime.UtcNow < until)
        {
            stopping.ThrowIfCancellationRequested();
            if (IsListening(port))
            {
                return true;
            }

            if (process.HasExited)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), CancellationToken.None);
        }

        return false;
    }

    public static bool IsListening(int port)
    {
        using var client = new TcpClient();
        try
        {
            // A refused connection takes seconds on Windows; half a second is plenty on loopback.
            return client.ConnectAsync("127.0.0.1", port).Wait(TimeSpan.FromMilliseconds(500)) && client.Connected;
        }
        catch (AggregateException ex) when (ex.InnerException is SocketException)
        {
            return false;
        }
    }
}
