using System.Text.Json;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpFailover.Channels;
using OtpFailover.Codes;
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
    ApplyDeliveryStatus delivery,
    VerificationStore store,
    IOptions<WhatsAppOptions> options,
    OtpFailover.Telemetry.OtpMetrics metrics,
    ILogger<WhatsAppWebhookHandler> logger)
{
    /// <summary>Meta sends at most 3 MB in one notification.</summary>
    public const int MaxBodyBytes = 4 * 1024 * 1024;

    private const int Parallelism = 8;

    /// <summary>Meta's subscription handshake: the query's <c>hub.mode</c>, <c>hub.verify_token</c> and <c>hub.challenge</c>.</summary>
    public WebhookResult Handshake(string? mode, string? verifyToken, string? challenge)
    {
        if (mode != "subscribe" || string.IsNullOrEmpty(challenge) || !SecretComparison.Matches(verifyToken, options.Value.VerifyToken))
        {
            LogHandshakeRefused();
            return WebhookResult.Forbidden("The hub.verify_token does not match WhatsApp:VerifyToken, or hub.mode is not subscribe.");
        }

        return WebhookResult.Challenge(challenge);
    }

    public async Task<WebhookResult> NotifyAsync(ReadOnlyMemory<byte> body, string? signature, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        if (!WhatsAppSignature.IsValid(body.Span, signature, options.Value.AppSecret))
        {
            LogSignatureRefused(signature is null ? "missing" : "invalid");
            metrics.WebhookRejected("whatsapp");
            return WebhookResult.Unauthorized($"The {WhatsAppSignature.HeaderName} header is missing or does not match the body.");
        }

        WhatsAppWebhookPayload? payload;
        try
        {
            payload = JsonSerializer.Deserialize<WhatsAppWebhookPayload>(body.Span, WhatsAppWebhookPayload.Json);
        }
        catch (JsonException)
        {
            return WebhookResult.Invalid("The notification is not a WhatsApp Business Account webhook notification in JSON.");
        }

        var summary = await ApplyAsync(payload, durable, cancellationToken);
        LogNotification(summary.Applied, summary.Unchanged, summary.Unknown);
        metrics.WebhookApplied("whatsapp", summary.Applied, summary.Unchanged, summary.Unknown);
        return WebhookResult.Applied(summary);
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

        return await delivery.RunAsync(id, Channel.WhatsApp, status, at, update.Detail, durable, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "WhatsApp webhook handshake refused")]
    private partial void LogHandshakeRefused();

    [LoggerMessage(Level = LogLevel.Warning, Message = "WhatsApp webhook refused: signature {Problem}")]
    private partial void LogSignatureRefused(string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "WhatsApp statuses: {Applied} applied, {Unchanged} unchanged, {Unknown} for no known verification")]
    private partial void LogNotification(int applied, int unchanged, int unknown);
}
