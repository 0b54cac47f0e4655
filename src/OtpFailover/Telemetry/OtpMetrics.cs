using System.Diagnostics.Metrics;
using OtpFailover.Channels;

namespace OtpFailover.Telemetry;

/// <summary>
/// The <c>otpfailover</c> meter. Most figures are read off a verification row's transitions as the store writes them
/// (<c>Verifications/TransitionMetrics</c>): a transition is written once, under the row's ETag, however often an
/// activity runs, so each is counted once. Tags hold only channels, calling regions (ISO country codes), outcomes, reasons and limits:
/// never a number, a code or an id.
/// </summary>
public sealed class OtpMetrics
{
    public const string MeterName = "otpfailover";

    private readonly Counter<long> _started;
    private readonly Counter<long> _ended;
    private readonly Counter<long> _codesSent;
    private readonly Counter<long> _failovers;
    private readonly Histogram<double> _delivery;
    private readonly Histogram<double> _approval;
    private readonly Counter<long> _checks;
    private readonly Counter<long> _webhooks;
    private readonly Counter<long> _refusals;
    private readonly Counter<long> _callbacks;

    public OtpMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _started = meter.CreateCounter<long>("otpfailover.verifications.started", "{verification}", "Verifications started.");
        _ended = meter.CreateCounter<long>("otpfailover.verifications.ended", "{verification}", "Verifications ended, by outcome.");
        _codesSent = meter.CreateCounter<long>("otpfailover.codes.sent", "{message}", "Codes handed to a provider, by channel.");
        _failovers = meter.CreateCounter<long>("otpfailover.failovers", "{failover}", "Failovers to SMS, by reason.");
        _delivery = meter.CreateHistogram<double>("otpfailover.delivery.duration", "s", "Time from the start to the provider's delivery confirmation, by channel.");
        _approval = meter.CreateHistogram<double>("otpfailover.approval.duration", "s", "Time from the start to the approval.");
        _checks = meter.CreateCounter<long>("otpfailover.checks", "{check}", "Code checks, by result.");
        _webhooks = meter.CreateCounter<long>("otpfailover.webhook.requests", "{request}", "Provider webhook requests, by provider and result.");
        _refusals = meter.CreateCounter<long>("otpfailover.rate_limit.refusals", "{refusal}", "Requests refused by an abuse limit, by limit.");
        _callbacks = meter.CreateCounter<long>("otpfailover.callback.attempts", "{attempt}", "Status callbacks posted to the customer's backend, by event type and result (delivered, failed).");
    }

    /// <summary>One attempt to post a status callback: delivered (2xx) or failed (tried again later).</summary>
    public void CallbackAttempted(string eventType, bool delivered) =>
        _callbacks.Add(1, new KeyValuePair<string, object?>("otpfailover.callback.type", eventType), new KeyValuePair<string, object?>("otpfailover.callback.result", delivered ? "delivered" : "failed"));

    public void Started() => _started.Add(1);

    public void Checked<TOutcome>(TOutcome outcome)
        where TOutcome : struct, Enum => _checks.Add(1, new KeyValuePair<string, object?>("otpfailover.check.result", Name(outcome)));

    /// <summary>A webhook request refused (no valid signature or key): it changed nothing.</summary>
    public void WebhookRejected(string provider) => Webhook(provider, "rejected", 1);

    /// <summary>A webhook request that was authenticated but could not be read (answered 400).</summary>
    public void WebhookInvalid(string provider) => Webhook(provider, "invalid", 1);

    /// <summary>What a webhook request's statuses did: applied, unchanged (duplicates, stale) or unknown (no such verification).</summary>
    public void WebhookApplied(string provider, int applied, int unchanged, int unknown)
    {
        Webhook(provider, "applied", applied);
        Webhook(provider, "unchanged", unchanged);
        Webhook(provider, "unknown", unknown);
    }

    private void Webhook(string provider, string result, long count)
    {
        if (count > 0)
        {
            _webhooks.Add(count, new KeyValuePair<string, object?>("otpfailover.provider", provider), new KeyValuePair<string, object?>("otpfailover.webhook.result", result));
        }
    }

    public void Refused<TLimit>(TLimit? limit)
        where TLimit : struct, Enum =>
        _refusals.Add(1, new KeyValuePair<string, object?>("otpfailover.limit", limit is { } kind ? Name(kind) : "unknown"));

    /// <summary>A code handed to a channel's provider (counted once per send, when its outcome is recorded).</summary>
    public void CodeSent(Channels.Channel channel, string region) => _codesSent.Add(1, Channel(channel), Region(region));

    /// <summary>A verification moved to <paramref name="channel"/> for <paramref name="reason"/>.</summary>
    public void FailedOver(FailoverReason reason, Channels.Channel channel, string region) =>
        _failovers.Add(1, new KeyValuePair<string, object?>("otpfailover.failover.reason", Name(reason)), Channel(channel), Region(region));

    /// <summary>A channel's provider confirmed delivery, <paramref name="sinceStart"/> after the verification started.</summary>
    public void DeliveryConfirmed(Channels.Channel channel, string region, TimeSpan sinceStart) =>
        _delivery.Record(sinceStart.TotalSeconds, Channel(channel), Region(region));

    /// <summary>A verification ended with <paramref name="outcome"/>; <paramref name="approvedAfter"/> when it was approved.</summary>
    public void Ended<TOutcome>(TOutcome outcome, TimeSpan? approvedAfter)
        where TOutcome : struct, Enum
    {
        _ended.Add(1, new KeyValuePair<string, object?>("otpfailover.outcome", Name(outcome)));
        if (approvedAfter is { } after)
        {
            _approval.Record(after.TotalSeconds);
        }
    }

    private static KeyValuePair<string, object?> Region(string region) => new("otpfailover.region", string.IsNullOrEmpty(region) ? "unknown" : region);

    private static KeyValuePair<string, object?> Channel(Channels.Channel channel) => new("otpfailover.channel", Name(channel));

    /// <summary>The API's name of a value where it has one (<c>whatsapp</c>), otherwise its name in snake case.</summary>
    private static string Name<TEnum>(TEnum value)
        where TEnum : struct, Enum
    {
        var wire = WireNames.Of(value);
        return wire == value.ToString() ? System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(wire) : wire;
    }
}
