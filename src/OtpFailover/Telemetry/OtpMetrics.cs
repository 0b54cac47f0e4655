using System.Diagnostics.Metrics;
using OtpFailover.Abuse;
using OtpFailover.Channels;
using OtpFailover.Storage;
using OtpFailover.Verifications;

namespace OtpFailover.Telemetry;

/// <summary>
/// The <c>otpfailover</c> meter. Most figures are read off a verification row's transitions as the store writes them
/// (<see cref="Transition"/>): a transition is written once, under the row's ETag, however often an activity runs, so
/// each is counted once. Tags hold only channels, calling regions (ISO country codes), outcomes, reasons and limits:
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

    public void Checked(CheckOutcome outcome) => _checks.Add(1, new KeyValuePair<string, object?>("otpfailover.check.result", Name(outcome)));

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

    public void Refused(LimitKind? limit) =>
        _refusals.Add(1, new KeyValuePair<string, object?>("otpfailover.limit", limit is { } kind ? Name(kind) : "unknown"));

    /// <summary>What a written change of a verification row means, from how it was to how it is.</summary>
    internal void Transition(VerificationSnapshotForMetrics before, VerificationEntity after, DateTimeOffset now)
    {
        var sinceStart = (now - after.CreatedAt).TotalSeconds;
        var region = new KeyValuePair<string, object?>("otpfailover.region", string.IsNullOrEmpty(after.RegionCode) ? "unknown" : after.RegionCode);
        var sends = after.ReadSends();
        foreach (var send in sends)
        {
            var earlier = before.Sends.FirstOrDefault(s => s.Channel == send.Channel);
            if (earlier?.MessageId is null && send.MessageId is not null)
            {
                _codesSent.Add(1, Channel(send.Channel), region);
            }

            if (earlier is null && send.Reason is { } reason)
            {
                _failovers.Add(1, new KeyValuePair<string, object?>("otpfailover.failover.reason", Name(reason)), Channel(send.Channel), region);
            }

            if (earlier?.Confirmed != true && send.Confirmed)
            {
                _delivery.Record(sinceStart, Channel(send.Channel), region);
            }
        }

        if (before.Pending && !after.IsPending)
        {
            _ended.Add(1, new KeyValuePair<string, object?>("otpfailover.outcome", Name(after.StatusValue)));
            if (after.StatusValue == VerificationStatus.Approved)
            {
                _approval.Record(sinceStart);
            }
        }
    }

    private static KeyValuePair<string, object?> Channel(Channels.Channel channel) => new("otpfailover.channel", Name(channel));

    /// <summary>The API's name of a value where it has one (<c>whatsapp</c>), otherwise its name in snake case.</summary>
    private static string Name<TEnum>(TEnum value)
        where TEnum : struct, Enum
    {
        var wire = WireNames.Of(value);
        return wire == value.ToString() ? System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(wire) : wire;
    }
}

/// <summary>The parts of a verification row the metrics compare before and after a write.</summary>
internal readonly record struct VerificationSnapshotForMetrics(bool Pending, IReadOnlyList<Channels.ChannelSend> Sends)
{
    public static VerificationSnapshotForMetrics Of(VerificationEntity entity) => new(entity.IsPending, entity.ReadSends());
}
