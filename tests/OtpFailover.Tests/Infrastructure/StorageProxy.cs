using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace OtpFailover.Tests.Infrastructure;

/// <summary>
/// A TCP proxy in front of Azurite's blob, queue and table ports that a test can cut and restore: while cut, every
/// connection is dropped and new ones are refused, as when the storage account goes away; the data stays.
/// </summary>
public sealed class StorageProxy : IAsyncDisposable
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private readonly (int Listen, int Target)[] _routes = [(PortOutsideTheEphemeralRange(), 10000), (PortOutsideTheEphemeralRange(), 10001), (PortOutsideTheEphemeralRange(), 10002)];
    private readonly ConcurrentDictionary<TcpClient, byte> _connections = new();
    private List<TcpListener> _listeners = [];
    private CancellationTokenSource _stop = new();

    /// <summary>The well-known development account, reached through the proxy.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{_routes[0].Listen}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{_routes[1].Listen}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{_routes[2].Listen}/devstoreaccount1;";

    public void Open()
    {
        _stop = new CancellationTokenSource();
        _listeners = [];
        foreach (var (listen, target) in _routes)
        {
            var listener = new TcpListener(IPAddress.Loopback, listen);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            _listeners.Add(listener);
            _ = AcceptAsync(listener, target, _stop.Token);
        }
    }

    /// <summary>Storage goes away: open connections drop, new ones are refused, until <see cref="Open"/>.</summary>
    public void Cut()
    {
        _stop.Cancel();
        foreach (var listener in _listeners)
        {
            listener.Stop();
        }

        foreach (var connection in _connections.Keys)
        {
            connection.Close();
        }

        _connections.Clear();
    }

    public ValueTask DisposeAsync()
    {
        Cut();
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task AcceptAsync(TcpListener listener, int target, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stop);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = RelayAsync(client, target, stop);
        }
    }

    private async Task RelayAsync(TcpClient client, int target, CancellationToken stop)
    {
        using var upstream = new TcpClient();
        _connections[client] = 0;
        _connections[upstream] = 0;
        try
        {
            await upstream.ConnectAsync(IPAddress.Loopback, target, stop);
            var a = client.GetStream().CopyToAsync(upstream.GetStream(), stop);
            var b = upstream.GetStream().CopyToAsync(client.GetStream(), stop);
            await Task.WhenAny(a, b);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            _connections.TryRemove(client, out _);
            _connections.TryRemove(upstream, out _);
            client.Close();
        }
    }

    /// <summary>A free port below the ephemeral range, so no client's own socket can take it while the proxy is cut.</summary>
    private static int PortOutsideTheEphemeralRange()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Random.Shared.Next(20_000, 30_000);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException) when (attempt < 100)
            {
            }
        }
    }
}
