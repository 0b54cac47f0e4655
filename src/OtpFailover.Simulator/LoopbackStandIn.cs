using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace OtpFailover.Simulator;

/// <summary>A provider stand-in hosted on its own on 127.0.0.1, on a port the OS picks.</summary>
public abstract class LoopbackStandIn : IAsyncDisposable
{
    private WebApplication? _app;

    /// <summary>Where the stand-in listens (ending in <c>/</c>), once started.</summary>
    public Uri BaseUrl { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Maps the provider's endpoints onto any app (the local simulator hosts them the same way).</summary>
    public abstract void Map(IEndpointRouteBuilder endpoints);

    protected async Task StartLoopbackAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        Map(_app);
        await _app.StartAsync();
        BaseUrl = ListeningUrl(_app);
    }

    /// <summary>The first address a started host listens on, ending in <c>/</c>.</summary>
    public static Uri ListeningUrl(IHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return new Uri(host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/");
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
