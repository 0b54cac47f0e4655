using Microsoft.DurableTask.Client;
using OtpFailover.Channels;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Verifications;

/// <summary>Whole flows on the durable engine: WhatsApp confirms, or stays silent and SMS takes over.</summary>
public sealed class WhatsAppFirstFlowTests
{
    [Theory]
    [InlineData(DurableBackend.InMemory)]
    [InlineData(DurableBackend.AzureStorage)]
    public async Task Delivered_OnWhatsApp_SendsNoSms_AndTheCodeApproves(DurableBackend backend)
    {
        await using var app = await TestApp.StartAsync(backend: backend);
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();

        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.AwaitingWhatsAppDelivery);
        Assert.Equal(StatusUpdateOutcome.Applied, await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default));
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.WhatsAppConfirmed);

        // Past the delivery timeout: a confirmed WhatsApp message must not be followed by an SMS.
        await Task.Delay(app.Options.WhatsAppDeliveryTimeout + TimeSpan.FromSeconds(1));
        Assert.Equal(0, app.Sms.Calls);

        var check = await app.Verifications.CheckAsync(verification.Id, code, app.Client, default);
        Assert.Equal(CheckOutcome.Approved, check.Outcome);

        var instance = await app.WaitForCompletionAsync(verification.Id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
        Assert.Equal(VerificationStatus.Approved, instance.ReadOutputAs<VerificationStatus>());
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(VerificationStatus.Approved, stored.Status);
        Assert.Equal(Channel.WhatsApp, stored.Channel);
        Assert.Equal(
            [TimelineEventTypes.Created, TimelineEventTypes.WhatsAppSent, TimelineEventTypes.WhatsAppDelivered, TimelineEventTypes.Approved],
            stored.Timeline.Select(e => e.Type));
        Assert.Equal(0, app.Sms.Calls);
    }

    [Theory]
    [InlineData(DurableBackend.InMemory)]
    [InlineData(DurableBackend.AzureStorage)]
    public async Task Silence_OnWhatsApp_SendsTheSameCodeBySmsAfterTheTimeout_AndItApproves(DurableBackend backend)
    {
        await using var app = await TestApp.StartAsync(backend: backend);
        var started = DateTimeOffset.UtcNow;
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();

        var sms = await app.Sms.WaitForMessageAsync();
        Assert.True(DateTimeOffset.UtcNow - started >= app.Options.WhatsAppDeliveryTimeout, $"The SMS went out before the WhatsApp delivery timeout: {string.Join(", ", (await app.GetAsync(verification.Id)).Timeline)}");
        Assert.Equal(code, sms.Code);
        Assert.Equal("+14155550123", sms.To.E164);
        Assert.Equal("Contoso", sms.Brand);

        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);
        var pending = await app.GetAsync(verification.Id);
        Assert.Equal(Channel.Sms, pending.Channel);
        var failover = Assert.Single(pending.Timeline, e => e.Type == TimelineEventTypes.Failover);
        Assert.Equal("timeout", failover.Reason);
        Assert.Contains(pending.Timeline, e => e.Type == TimelineEventTypes.SmsSent);

        var check = await app.Verifications.CheckAsync(verification.Id, code, app.Client, default);
        Assert.Equal(CheckOutcome.Approved, check.Outcome);
        var instance = await app.WaitForCompletionAsync(verification.Id);
        Assert.Equal(VerificationStatus.Approved, instance.ReadOutputAs<VerificationStatus>());
        Assert.Equal(1, app.Sms.Calls);
        Assert.Equal(1, app.WhatsApp.Calls);
    }
}
