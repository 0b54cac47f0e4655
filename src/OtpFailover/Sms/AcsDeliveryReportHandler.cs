using System.Text.Json;
using Azure.Messaging;
using Azure.Messaging.EventGrid;
using Azure.Messaging.EventGrid.SystemEvents;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpFailover.Channels;
using OtpFailover.Codes;
using OtpFailover.Email;
using OtpFailover.Storage;
using OtpFailover.Verifications;

namespace OtpFailover.Sms;

/// <summary>
/// The Event Grid endpoint for Communication Services SMS and email delivery reports, in the Event Grid schema or as
/// CloudEvents. Event Grid does not sign its deliveries, so every call must present <see cref="SmsOptions.WebhookKey"/>
/// (query <c>key</c> or header <c>X-Webhook-Key</c>); without it nothing changes. Reports are recorded on their
/// verification's timeline; unknown and duplicate reports are answered 200 and change nothing.
/// </summary>
public sealed partial class AcsDeliveryReportHandler(
    ApplyDeliveryStatus delivery,
    VerificationStore store,
    IOptions<SmsOptions> options,
    OtpFailover.Telemetry.OtpMetrics metrics,
    ILogger<AcsDeliveryReportHandler> logger)
{
    public const string KeyQueryParameter = "key";
    public const string KeyHeader = "X-Webhook-Key";
    public const int MaxBodyBytes = 1024 * 1024;

    /// <summary>The key a call presents: the header, else the query parameter.</summary>
    public static string? KeyOf(string? header, string? query) =>
        !string.IsNullOrEmpty(header) ? header : !string.IsNullOrEmpty(query) ? query : null;

    /// <summary>The CloudEvents webhook validation (an OPTIONS request carrying <c>WebHook-Request-Origin</c>).</summary>
    public WebhookResult Handshake(string? key, string? requestOrigin)
    {
        if (!KeyMatches(key))
        {
            return WebhookResult.Unauthorized($"Present Sms:WebhookKey as the '{KeyQueryParameter}' query parameter or the {KeyHeader} header.");
        }

        return string.IsNullOrEmpty(requestOrigin)
            ? WebhookResult.Invalid("The WebHook-Request-Origin header is required.")
            : WebhookResult.AllowedOrigin(requestOrigin);
    }

    /// <summary>
    /// The refusal of a call without the webhook key, or null when it presents it. The key travels outside the body, so
    /// a caller can be refused before its body is read.
    /// </summary>
    public WebhookResult? Authenticate(string? key)
    {
        if (KeyMatches(key))
        {
            return null;
        }

        LogRefused();
        metrics.WebhookRejected("sms");
        return WebhookResult.Unauthorized($"Present Sms:WebhookKey as the '{KeyQueryParameter}' query parameter or the {KeyHeader} header.");
    }

    public async Task<WebhookResult> NotifyAsync(ReadOnlyMemory<byte> body, string? key, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        if (Authenticate(key) is { } refused)
        {
            return refused;
        }

        IReadOnlyList<Report> reports;
        try
        {
            var (parsed, validationCode) = Parse(BinaryData.FromBytes(body));
            if (validationCode is not null)
            {
                LogValidated();
                return WebhookResult.Validation(validationCode);
            }

            reports = parsed;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or ArgumentException or InvalidOperationException or KeyNotFoundException
            or NullReferenceException or InvalidCastException or OverflowException)
        {
            // The Event Grid parsers throw more than they document on input they cannot take (NullReferenceException
            // on an array holding null): whatever they throw for this body, the body is the caller's mistake. It came
            // with the right key, though, and Event Grid does not retry a 400: the operator hears of it.
            LogUnreadable(ex.GetType().Name);
            metrics.WebhookInvalid("sms");
            return WebhookResult.Invalid("The body is not an Event Grid or CloudEvents delivery (a JSON event, or an array of them, with the schema's required fields).");
        }

        var tally = new WebhookTally();
        foreach (var report in reports)
        {
            var id = report.VerificationId;
            if (id is null && !string.IsNullOrEmpty(report.MessageId))
            {
                id = await store.FindByProviderMessageAsync(report.Channel, report.MessageId, cancellationToken);
            }

            tally.Count(VerificationIds.IsWellFormed(id)
                ? await delivery.RunAsync(id!, report.Channel, report.Status, report.At, report.Detail, durable, cancellationToken)
                : StatusUpdateOutcome.NotFound);
        }

        var summary = tally.ToSummary();
        LogReports(summary.Applied, summary.Unchanged, summary.Unknown);
        metrics.WebhookApplied("sms", summary.Applied, summary.Unchanged, summary.Unknown);
        return WebhookResult.Applied(summary);
    }

    /// <summary>
    /// An authenticated request whose body is over <see cref="MaxBodyBytes"/>: refused unread, and, as with a body that
    /// cannot be read, logged and counted, since Event Grid does not send a refused delivery again.
    /// </summary>
    public WebhookResult TooLarge()
    {
        LogUnreadable($"a body over {MaxBodyBytes} bytes");
        metrics.WebhookInvalid("sms");
        return WebhookResult.Invalid($"The body must be at most {MaxBodyBytes} bytes.");
    }

    private bool KeyMatches(string? key) => SecretComparison.Matches(key, options.Value.WebhookKey);

    private static (IReadOnlyList<Report> Reports, string? ValidationCode) Parse(BinaryData body)
    {
        var reports = new List<Report>();
        if (IsCloudEvents(body))
        {
            foreach (var cloudEvent in CloudEvent.ParseMany(body))
            {
                if (cloudEvent.TryGetSystemEventData(out var data) && Report.From(data, cloudEvent.Data, cloudEvent.Time) is { } report)
                {
                    reports.Add(report);
                }
            }

            return (reports, null);
        }

        foreach (var gridEvent in EventGridEvent.ParseMany(body))
        {
            if (!gridEvent.TryGetSystemEventData(out var data))
            {
                continue;
            }

            switch (data)
            {
                case SubscriptionValidationEventData validation:
                    return (reports, validation.ValidationCode);
                default:
                    if (Report.From(data, gridEvent.Data, gridEvent.EventTime) is { } report)
                    {
                        reports.Add(report);
                    }

                    break;
            }
        }

        return (reports, null);
    }

    /// <summary>
    /// Whether the delivery is in the CloudEvents schema (else Event Grid's). It must be one event (an object) or an
    /// array of them, nothing else: the parsers are not asked about other shapes (they throw on an array holding null).
    /// </summary>
    private static bool IsCloudEvents(BinaryData body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object && (root.ValueKind != JsonValueKind.Array || root.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Object)))
        {
            throw new FormatException("An Event Grid delivery is a JSON object or an array of objects.");
        }

        var first = root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().FirstOrDefault() : root;
        return first.ValueKind == JsonValueKind.Object && first.TryGetProperty("specversion", out _);
    }

    /// <param name="MessageId">The provider's id of the message: the SMS's message id, the email's operation id.</param>
    private sealed record Report(Channel Channel, string? VerificationId, string? MessageId, DeliveryStatus Status, DateTimeOffset At, string? Detail)
    {
        /// <summary>The report an event holds, or null for an event that is none (or an email's interim <c>Expanded</c>).</summary>
        public static Report? From(object data, BinaryData? rawData, DateTimeOffset? eventTime) => data switch
        {
            AcsSmsDeliveryReportReceivedEventData sms => From(sms, rawData, eventTime),
            AcsEmailDeliveryReportReceivedEventData email => From(email, eventTime),
            _ => null,
        };

        /// <summary>
        /// An email's report: <c>Delivered</c> is the recipient's server taking it; a bounce, a suppressed address, a
        /// quarantine, a spam filter or a failure fail it; <c>Expanded</c> (a distribution list) and any status not
        /// known here say nothing. The report names the recipient, which is never kept: the operation id finds the
        /// verification.
        /// </summary>
        private static Report? From(AcsEmailDeliveryReportReceivedEventData report, DateTimeOffset? eventTime)
        {
            var status = report.Status?.ToString();
            DeliveryStatus? delivery = status?.ToUpperInvariant() switch
            {
                "DELIVERED" => DeliveryStatus.Delivered,
                "BOUNCED" or "SUPPRESSED" or "QUARANTINED" or "FILTEREDSPAM" or "FAILED" => DeliveryStatus.Failed,
                _ => null, // Expanded (a distribution list) says nothing yet, nor does a status added after this was written
            };
            if (delivery is not { } known)
            {
                return null;
            }

            var messageId = string.IsNullOrEmpty(report.MessageId) ? null : AcsEmailSender.NormalizeMessageId(report.MessageId);
            return new Report(Channel.Email, null, messageId, known, report.DeliveryAttemptTimestamp ?? eventTime ?? DateTimeOffset.UtcNow, known == DeliveryStatus.Delivered ? null : ProviderText.Scrub(status!));
        }

        private static Report From(AcsSmsDeliveryReportReceivedEventData report, BinaryData? rawData, DateTimeOffset? eventTime)
        {
            var tag = report.Tag ?? ReadTagCaseInsensitively(rawData);
            var id = tag is not null && tag.StartsWith(AcsSmsSender.TagPrefix, StringComparison.Ordinal) ? tag[AcsSmsSender.TagPrefix.Length..] : null;
            var delivered = string.Equals(report.DeliveryStatus, "Delivered", StringComparison.OrdinalIgnoreCase);
            var detail = delivered ? null : ProviderText.Scrub(string.IsNullOrEmpty(report.DeliveryStatusDetails) ? report.DeliveryStatus : $"{report.DeliveryStatus}: {report.DeliveryStatusDetails}");
            return new Report(Channel.Sms, id, report.MessageId, delivered ? DeliveryStatus.Delivered : DeliveryStatus.Failed, report.ReceivedTimestamp ?? eventTime ?? DateTimeOffset.UtcNow, detail);
        }

        /// <summary>Reports have carried the tag as <c>Tag</c> as well as <c>tag</c>.</summary>
        private static string? ReadTagCaseInsensitively(BinaryData? rawData)
        {
            if (rawData is null)
            {
                return null;
            }

            using var document = JsonDocument.Parse(rawData);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var tag = document.RootElement.EnumerateObject().FirstOrDefault(p => string.Equals(p.Name, "tag", StringComparison.OrdinalIgnoreCase));
            return tag.Value.ValueKind == JsonValueKind.String ? tag.Value.GetString() : null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SMS delivery report refused: the webhook key is missing or wrong")]
    private partial void LogRefused();

    [LoggerMessage(Level = LogLevel.Information, Message = "Event Grid subscription validated for SMS delivery reports")]
    private partial void LogValidated();

    [LoggerMessage(Level = LogLevel.Information, Message = "SMS delivery reports: {Applied} applied, {Unchanged} unchanged, {Unknown} for no known verification")]
    private partial void LogReports(int applied, int unchanged, int unknown);

    [LoggerMessage(Level = LogLevel.Warning, Message = "An SMS delivery-report request with the right key could not be read ({Error}): answered 400, and Event Grid does not send it again. If every delivery fails so, the event schema may have changed")]
    private partial void LogUnreadable(string error);
}
