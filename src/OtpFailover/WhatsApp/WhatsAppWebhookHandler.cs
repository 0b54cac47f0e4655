using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpFailover.Codes;
using OtpFailover.Http;
using OtpFailover.Storage;
using OtpFailover.Verifications;

namespace OtpFailover.WhatsApp;

/// <summary>
/// Meta's WhatsApp webhook: the subscription handshake, and signed status notifications. A notification without a
/// valid signature changes nothing. A signed one is answered 200 whatever it holds (Meta retries anything else for
/// days): each status is recorded on its verification, which the orchestration is told about; unknown, duplicate
/// and late statuses change nothing. It never waits for the orchestration.
/// </summary>
public sealed partial class WhatsAppWebhookHandler(
    VerificationService verifications,
    VerificationStore store,
    IOptions<WhatsAppOptions> options,
    OtpFailover.Telemetry.OtpMetrics metrics,
    ILogger<WhatsAppWebhookHandler> logger)
{
    /// <summary>Meta sends at most 3 MB in one notification.</summary>
    public const int MaxBodyBytes = 4 * 1024 * 1024;

    private const int Parallelism = 8;

    public IActionResult Handshake(IQueryCollection query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var expected = options.Value.VerifyToken;
        var given = query["hub.verify_token"].ToString();
        var challenge = query["hub.challenge"].ToString();
        if (query["hub.mode"] != "subscribe" || string.IsNullOrEmpty(challenge) || !SecretComparison.Matches(given, expected))
        {
            LogHandshakeRefused();
            return WebhookProblems.Forbidden("The hub.verify_token does not match WhatsApp:VerifyToken, or hub.mode is not subscribe.");
        }

        return new ContentResult { StatusCode = StatusCodes.Status200OK, Content = challenge, ContentType = "text/plain" };
    }

    public async Task<IActionResult> NotifyAsync(ReadOnlyMemory<byte> body, string? signature, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        if (!WhatsAppSignature.IsValid(body.Span, signature, options.Value.AppSecret))
        {
            LogSignatureRefused(signature is null ? "missing" : "invalid");
            metrics.WebhookRejected("whatsapp");
            return WebhookProblems.Unauthorized($"The {WhatsAppSignature.HeaderName} header is missing or does not match the body.");
        }

        WhatsAppWebhookPayload? payload;
        try
        {
            payload = JsonSerializer.Deserialize<WhatsAppWebhookPayload>(body.Span, WhatsAppWebhookPayload.Json);
        }
        catch (JsonException)
        {
            return ApiProblems.InvalidRequest("The notification is not a WhatsApp Business Account webhook notification in JSON.");
        }

        var summary = await ApplyAsync(payload, durable, cancellationToken);
        LogNotification(summary.Applied, summary.Unchanged, summary.Unknown);
        metrics.WebhookApplied("whatsapp", summary.Applied, summary.Unchanged, summary.Unknown);
        return new OkObjectResult(summary);
    }

    private async Task<WebhookSummary> ApplyAsync(WhatsAppWebhookPayload? payload, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var tally = new WebhookTally();
        await Parallel.ForEachAsync(payload?.Statuses() ?? [], new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken }, async (update, ct) =>
            tally.Count(await ApplyAsync(update, durable, ct)));
        return tally.ToSummary();
    }

    private async Task<StatusUpdateOutcome> ApplyAsync(WhatsAppStatusUpdate update, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        if (update.DeliveryStatus is not { } status || update.At is not { } at)
        {
            return StatusUpdateOutcome.Unchanged; // played, or a status this version does not know
        }

        var id = update.VerificationId;
        if (id is null && update.Id is { Length: > 0 } wamid)
        {
            id = await store.FindByProviderMessageAsync(Channel.WhatsApp, wamid, cancellationToken);
        }

        if (id is null || !VerificationIds.IsWellFormed(id))
        {
            return StatusUpdateOutcome.NotFound;
        }

        return await verifications.ApplyWhatsAppStatusAsync(id, status, at, update.Detail, durable, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "WhatsApp webhook handshake refused")]
    private partial void LogHandshakeRefused();

    [LoggerMessage(Level = LogLevel.Warning, Message = "WhatsApp webhook refused: signature {Problem}")]
    private partial void LogSignatureRefused(string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "WhatsApp statuses: {Applied} applied, {Unchanged} unchanged, {Unknown} for no known verification")]
    private partial void LogNotification(int applied, int unchanged, int unknown);
}
