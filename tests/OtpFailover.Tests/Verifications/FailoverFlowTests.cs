using OtpFailover.Channels;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Verifications;

/// <summary>Every road from WhatsApp to SMS, and the end when SMS fails too.</summary>
public sealed class FailoverFlowTests
{
    [Fact]
    public async Task WhatsAppFailedStatus_SendsTheSmsAtOnce_NotAfterTheTimeout()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.AwaitingWhatsAppDelivery);
        var failedAt = DateTimeOffset.UtcNow;

        Assert.Equal(StatusUpdateOutcome.Applied, await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Failed, failedAt, "131026", app.Client, default));

        var sms = await app.Sms.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(10));
        Assert.Equal(code, sms.Code);
        Assert.True(DateTimeOffset.UtcNow - failedAt < TimeSpan.FromSeconds(10));
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal("failed", Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.Failover).Reason);
        Assert.Equal("131026", Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.WhatsAppFailed).Detail);
    }

    [Fact]
    public async Task WhatsAppRefusingTheSend_SendsTheSmsAtOnce_WithTheRefusalOnTheTimeline()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        app.WhatsApp.Respond = (_, _) => ChannelSendResult.Rejected("whatsapp_131026_undeliverable");

        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();

        var sms = await app.Sms.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(10));
        Assert.Equal(code, sms.Code);
        var failover = Assert.Single((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover);
        Assert.Equal("send_error", failover.Reason);
        Assert.Equal("whatsapp_131026_undeliverable", failover.Detail);
    }

    [Fact]
    public async Task BothChannelsRefusing_EndsTheVerificationFailed()
    {
        await using var app = await TestApp.StartAsync();
        app.WhatsApp.Respond = (_, _) => ChannelSendResult.Rejected("whatsapp_not_configured");
        app.Sms.Respond = (_, _) => ChannelSendResult.Rejected("sms_invalid_number");

        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();

        var instance = await app.WaitForCompletionAsync(verification.Id);
        Assert.Equal(VerificationStatus.Failed, instance.ReadOutputAs<VerificationStatus>());
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(VerificationStatus.Failed, stored.Status);
        Assert.Equal("sms_invalid_number", stored.Timeline[^1].Detail);
        Assert.Equal(CheckOutcome.AlreadyEnded, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
    }

    [Fact]
    public async Task Resend_AfterDelivery_SendsTheSmsNow_AndASecondResendHasNoChannelLeft()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default);
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.WhatsAppConfirmed);

        var resend = await app.Verifications.ResendAsync(verification.Id, app.Client, default);
        Assert.Equal(ChangeOutcome.Done, resend.Outcome);

        var sms = await app.Sms.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(10));
        Assert.Equal(code, sms.Code);
        Assert.Equal("requested", Assert.Single((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover).Reason);
        Assert.Equal(ChangeOutcome.NoChannelLeft, (await app.Verifications.ResendAsync(verification.Id, app.Client, default)).Outcome);

        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);
        Assert.Equal(1, app.Sms.Calls);
    }

    [Fact]
    public async Task Resend_WhileAwaitingDelivery_SendsTheSmsBeforeTheTimeout()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();

        Assert.Equal(ChangeOutcome.Done, (await app.Verifications.ResendAsync(verification.Id, app.Client, default)).Outcome);

        await app.Sms.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(10));
        Assert.Equal("requested", Assert.Single((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover).Reason);
    }

    [Fact]
    public async Task DeliveredButUnverified_AfterTheConfiguredTime_SendsTheSms()
    {
        await using var app = await TestApp.StartAsync(o => o.FailoverIfUnverifiedAfter = TimeSpan.FromSeconds(2));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default);
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.WhatsAppConfirmed);
        var confirmedAt = DateTimeOffset.UtcNow;

        var sms = await app.Sms.WaitForMessageAsync();

        Assert.True(DateTimeOffset.UtcNow - confirmedAt >= TimeSpan.FromSeconds(1.5), "The unverified failover fired before its time.");
        Assert.Equal(code, sms.Code);
        Assert.Equal("unverified", Assert.Single((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover).Reason);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
        Assert.Equal(VerificationStatus.Approved, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());
    }

    [Fact]
    public async Task VerifiedBeforeTheUnverifiedTimer_SendsNoSms()
    {
        await using var app = await TestApp.StartAsync(o => o.FailoverIfUnverifiedAfter = TimeSpan.FromSeconds(2));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Read, DateTimeOffset.UtcNow, null, app.Client, default);
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.WhatsAppConfirmed);

        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
        Assert.Equal(VerificationStatus.Approved, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(0, app.Sms.Calls);
    }

    [Fact]
    public async Task FailoverWhenRead_DeliveredAloneDoesNotStopTheSms_ButReadDoes()
    {
        await using var app = await TestApp.StartAsync(o => o.FailoverWhen = FailoverWhen.Read);

        var (delivered, _) = await app.StartAndAwaitWhatsAppAsync("+14155550100");
        await app.WaitForPhaseAsync(delivered.Id, WorkflowPhases.AwaitingWhatsAppDelivery);
        await app.Verifications.ApplyWhatsAppStatusAsync(delivered.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default);
        var sms = await app.Sms.WaitForMessageAsync();
        Assert.Equal(delivered.Id, sms.VerificationId);
        Assert.Equal("timeout", Assert.Single((await app.GetAsync(delivered.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover).Reason);

        var (read, _) = await app.StartAndAwaitWhatsAppAsync("+14155550101");
        await app.WaitForPhaseAsync(read.Id, WorkflowPhases.AwaitingWhatsAppDelivery);
        await app.Verifications.ApplyWhatsAppStatusAsync(read.Id, DeliveryStatus.Read, DateTimeOffset.UtcNow, null, app.Client, default);
        await app.WaitForPhaseAsync(read.Id, WorkflowPhases.WhatsAppConfirmed);
        await Task.Delay(app.Options.WhatsAppDeliveryTimeout + TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(app.Sms.Messages, m => m.VerificationId == read.Id);
    }
}
