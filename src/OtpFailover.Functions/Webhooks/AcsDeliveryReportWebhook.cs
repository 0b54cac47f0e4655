using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using OtpFailover.Functions.Http;
using OtpFailover.Sms;

namespace OtpFailover.Functions.Webhooks;

/// <summary>
/// Event Grid's delivery of Communication Services SMS delivery reports. Anonymous at the Functions level: the
/// subscription's URL (or a delivery header) carries <c>Sms:WebhookKey</c>, which the handler checks.
/// </summary>
public sealed class AcsDeliveryReportWebhook(AcsDeliveryReportHandler handler)
{
    [Function(nameof(AcsDeliveryReports))]
    public async Task<IActionResult> AcsDeliveryReports(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "webhooks/acs")] HttpRequest request,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken)
    {
        // Refused before the body is read: an unauthenticated caller costs no buffering.
        var key = KeyOf(request);
        if (handler.Authenticate(key) is { } refused)
        {
            return WebhookResults.ToHttp(refused);
        }

        var body = await RawBody.ReadAsync(request, AcsDeliveryReportHandler.MaxBodyBytes, cancellationToken);
        return WebhookResults.ToHttp(body is null ? handler.TooLarge() : await handler.NotifyAsync(body.Value, key, durable, cancellationToken));
    }

    /// <summary>The CloudEvents schema's webhook validation handshake.</summary>
    [Function(nameof(AcsDeliveryReportsHandshake))]
    public IActionResult AcsDeliveryReportsHandshake(
        [HttpTrigger(AuthorizationLevel.Anonymous, "options", Route = "webhooks/acs")] HttpRequest request) =>
        WebhookResults.ToHttp(handler.Handshake(KeyOf(request), request.Headers["WebHook-Request-Origin"].ToString()));

    private static string? KeyOf(HttpRequest request) =>
        AcsDeliveryReportHandler.KeyOf(request.Headers[AcsDeliveryReportHandler.KeyHeader].ToString(), request.Query[AcsDeliveryReportHandler.KeyQueryParameter].ToString());
}
