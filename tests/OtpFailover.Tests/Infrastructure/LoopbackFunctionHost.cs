using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OtpFailover.Functions.Webhooks;

namespace OtpFailover.Tests.Infrastructure;

/// <summary>
/// The function app's HTTP functions on a real loopback port, called as methods, for tests that need a peer to
/// call the app over HTTP (the provider simulator). The routes are the ones <c>functions.metadata</c> declares.
/// </summary>
public static class LoopbackFunctionHost
{
    /// <param name="app">Resolved per request, so the host can start (and name its port) before the app exists.</param>
    public static async Task<(WebApplication Host, Uri Url)> StartAsync(Func<TestApp> app)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Services.AddMvcCore();
        var host = builder.Build();

        // A test reading a 500 should see why.
        host.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (Exception ex) when (!context.Response.HasStarted)
            {
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                await context.Response.WriteAsync(ex.ToString());
            }
        });
        OtpFailover.TestHost.FunctionRoutes.Map(host, () => app().Services, () => app().Client);
        await host.StartAsync();
        return (host, OtpFailover.Simulator.LoopbackStandIn.ListeningUrl(host));
    }
}
