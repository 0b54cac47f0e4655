using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Functions.Http;
using OtpFailover.Functions.Webhooks;

namespace OtpFailover.TestHost;

/// <summary>
/// The app's HTTP functions on plain ASP.NET Core routes, the ones <c>functions.metadata</c> declares, each calling
/// the function's method as the Functions host would. For hosts that run the app without Core Tools.
/// </summary>
public static class FunctionRoutes
{
    /// <param name="services">The app's services, resolved per request.</param>
    /// <param name="durable">The durable client the functions get as their binding, resolved per request.</param>
    public static void Map(IEndpointRouteBuilder endpoints, Func<IServiceProvider> services, Func<DurableTaskClient> durable)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        VerificationsApi Api() => ActivatorUtilities.CreateInstance<VerificationsApi>(services());
        WhatsAppStatusWebhook WhatsApp() => ActivatorUtilities.CreateInstance<WhatsAppStatusWebhook>(services());
        AcsDeliveryReportWebhook Acs() => ActivatorUtilities.CreateInstance<AcsDeliveryReportWebhook>(services());

        endpoints.MapPost("/api/verifications", (HttpContext c) => RunAsync(c, Api().StartVerification(c.Request, durable(), c.RequestAborted)));
        endpoints.MapGet("/api/verifications/{id}", (HttpContext c, string id) => RunAsync(c, Api().GetVerification(c.Request, id, c.RequestAborted)));
        endpoints.MapPost("/api/verifications/{id}/check", (HttpContext c, string id) => RunAsync(c, Api().CheckCode(c.Request, id, durable(), c.RequestAborted)));
        endpoints.MapPost("/api/verifications/{id}/resend", (HttpContext c, string id) => RunAsync(c, Api().ResendCode(c.Request, id, durable(), c.RequestAborted)));
        endpoints.MapDelete("/api/verifications/{id}", (HttpContext c, string id) => RunAsync(c, Api().CancelVerification(c.Request, id, durable(), c.RequestAborted)));
        endpoints.MapGet("/api/webhooks/whatsapp", (HttpContext c) => RunAsync(c, Task.FromResult(WhatsApp().WhatsAppWebhookHandshake(c.Request))));
        endpoints.MapPost("/api/webhooks/whatsapp", (HttpContext c) => RunAsync(c, WhatsApp().WhatsAppStatusNotification(c.Request, durable(), c.RequestAborted)));
        endpoints.MapPost("/api/webhooks/acs", (HttpContext c) => RunAsync(c, Acs().AcsDeliveryReports(c.Request, durable(), c.RequestAborted)));
        endpoints.MapMethods("/api/webhooks/acs", ["OPTIONS"], (HttpContext c) => RunAsync(c, Task.FromResult(Acs().AcsDeliveryReportsHandshake(c.Request))));
    }

    private static async Task RunAsync(HttpContext context, Task<IActionResult> action) =>
        await (await action).ExecuteResultAsync(new ActionContext(context, context.GetRouteData(), new ActionDescriptor()));
}
