using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using OtpFailover.Functions.Http;
using OtpFailover.WhatsApp;

namespace OtpFailover.Functions.Webhooks;

/// <summary>
/// Meta's WhatsApp webhook. Anonymous at the Functions level: Meta cannot send a function key, so the handshake is
/// authenticated by the verify token and every notification by its <c>X-Hub-Signature-256</c>.
/// </summary>
public sealed class WhatsAppStatusWebhook(WhatsAppWebhookHandler handler)
{
    [Function(nameof(WhatsAppWebhookHandshake))]
    public IActionResult WhatsAppWebhookHandshake(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "webhooks/whatsapp")] HttpRequest request) =>
        WebhookResults.ToHttp(handler.Handshake(request.Query["hub.mode"].ToString(), request.Query["hub.verify_token"].ToString(), request.Query["hub.challenge"].ToString()));

    [Function(nameof(WhatsAppStatusNotification))]
    public async Task<IActionResult> WhatsAppStatusNotification(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "webhooks/whatsapp")] HttpRequest request,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken)
    {
        var body = await RawBody.ReadAsync(request, WhatsAppWebhookHandler.MaxBodyBytes, cancellationToken);
        return body is null
            ? ApiProblems.InvalidRequest($"The body must be at most {WhatsAppWebhookHandler.MaxBodyBytes} bytes.")
            : WebhookResults.ToHttp(await handler.NotifyAsync(body.Value, request.Headers[WhatsAppSignature.HeaderName].FirstOrDefault(), durable, cancellationToken));
    }
}
