using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OtpFailover.Channels;
using OtpFailover.Telemetry;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Telemetry;

/// <summary>
/// The <c>otpfailover</c> meter over whole flows: what an operator reads off it (codes by channel, failovers by reason,
/// time to delivery and to approval, checks, refusals) is what happened, counted once, and no number, code or
/// verification id is ever a tag.
/// </summary>
public sealed class MetricsTests
{
    private static readonly string[] Instruments =
    [
        "otpfailover.verifications.started", "otpfailover.verifications.ended", "otpfailover.codes.sent", "otpfailover.failovers",
        "otpfailover.delivery.duration", "otpfailover.approval.duration", "otpfailover.checks", "otpfailover.webhook.requests",
        "otpfailover.rate_limit.refusals",
    ];

    [Fact]
    public async Task AWhatsAppDelivery_AndAFailover_AreCountedOnce_ByChannelAndReason_WithoutANumberACodeOrAnIdInAnyTag()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(15), abuse: a => a.FailedChecksPerNumber = new(1, TimeSpan.FromHours(1)));
        var factory = app.Services.GetRequiredService<IMeterFactory>();
        var longs = Instruments.Where(i => !i.EndsWith(".duration", StringComparison.Ordinal)).ToDictionary(i => i, i => new MetricCollector<long>(factory, OtpMetrics.MeterName, i));
        var doubles = Instruments.Where(i => i.EndsWith(".duration", StringComparison.Ordinal)).ToDictionary(i => i, i => new MetricCollector<double>(factory, OtpMetrics.MeterName, i));

        // WhatsApp delivered, a wrong code, the right code.
        var (delivered, code) = await app.StartAndAwaitWhatsAppAsync("+4915112345678");
        await app.Verifications.ApplyWhatsAppStatusAsync(delivered.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default);
        await app.WaitForPhaseAsync(delivered.Id, WorkflowPhases.WhatsAppConfirmed);
        var wrong = code == "000000" ? "111111" : "000000";
        Assert.Equal(CheckOutcome.Incorrect, (await app.Verifications.CheckAsync(delivered.Id, wrong, app.Client, default)).Outcome);
        Assert.Equal(CheckOutcome.RateLimited, (await app.Verifications.CheckAsync(delivered.Id, code, app.Client, default)).Outcome);

        // Not on WhatsApp: the SMS at once, then the right code.
        app.WhatsApp.Respond = (_, _) => ChannelSendResult.Rejected("whatsapp_131026_undeliverable");
        var failedOver = await app.StartAsync("+4915112345679");
        var sms = await app.Sms.WaitForMessageAsync();
        await app.WaitForPhaseAsync(failedOver.Id, WorkflowPhases.SmsSent);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(failedOver.Id, sms.Code, app.Client, default)).Outcome);
        await app.WaitForCompletionAsync(failedOver.Id);

        long Sum(string instrument, string? tag = null, string? value = null) =>
            longs[instrument].GetMeasurementSnapshot().Where(m => tag is null || Equals(m.Tags[tag], value)).Sum(m => m.Value);

        Assert.Equal(2, Sum("otpfailover.verifications.started"));
        Assert.Equal(1, Sum("otpfailover.codes.sent", "otpfailover.channel", "whatsapp"));
        Assert.Equal(1, Sum("otpfailover.codes.sent", "otpfailover.channel", "sms"));
        Assert.Equal(1, Sum("otpfailover.failovers", "otpfailover.failover.reason", "send_error"));
        Assert.Equal(2, Sum("otpfailover.codes.sent", "otpfailover.region", "DE"));
        Assert.Equal(1, Sum("otpfailover.verifications.ended", "otpfailover.outcome", "approved"));
        Assert.Equal(1, Sum("otpfailover.checks", "otpfailover.check.result", "incorrect"));
        Assert.Equal(1, Sum("otpfailover.checks", "otpfailover.check.result", "rate_limited"));
        Assert.Equal(1, Sum("otpfailover.checks", "otpfailover.check.result", "approved"));
        Assert.Equal(1, Sum("otpfailover.rate_limit.refusals", "otpfailover.limit", "failed_checks_per_number"));
        var toDelivery = Assert.Single(doubles["otpfailover.delivery.duration"].GetMeasurementSnapshot());
        Assert.Equal("whatsapp", toDelivery.Tags["otpfailover.channel"]);
        Assert.InRange(toDelivery.Value, 0, 60);
        Assert.InRange(Assert.Single(doubles["otpfailover.approval.duration"].GetMeasurementSnapshot()).Value, 0, 60);

        var secrets = new[] { code, sms.Code, delivered.Id, failedOver.Id, "4915112345678", "4915112345679", "5678", "5679" };
        var tags = longs.Values.SelectMany(c => c.GetMeasurementSnapshot()).SelectMany(m => m.Tags)
            .Concat(doubles.Values.SelectMany(c => c.GetMeasurementSnapshot()).SelectMany(m => m.Tags))
            .Select(t => $"{t.Key}={t.Value}").ToList();
        Assert.NotEmpty(tags);
        Assert.All(tags, tag => Assert.DoesNotContain(secrets, secret => tag.Contains(secret, StringComparison.Ordinal)));

        foreach (var collector in longs.Values)
        {
            collector.Dispose();
        }

        foreach (var collector in doubles.Values)
        {
            collector.Dispose();
        }
    }
}
