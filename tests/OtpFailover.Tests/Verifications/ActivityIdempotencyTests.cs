using OtpFailover.Channels;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Verifications;

/// <summary>Activities run again (a lost response, a crashed worker): the user is never messaged twice.</summary>
public sealed class ActivityIdempotencyTests
{
    [Fact]
    public async Task AnSmsSendWhoseAnswerWasLost_IsRepeatedWithTheSameRepeatabilityPair()
    {
        await using var app = await TestApp.StartAsync();
        app.Sms.Respond = (message, call) => call == 0
            ? throw new HttpRequestException("The connection closed after the request was sent.")
            : ChannelSendResult.Accepted("sms-1");

        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Sms.WaitForMessageAsync(count: 2);
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);

        var (first, retried) = (app.Sms.Messages[0], app.Sms.Messages[1]);
        Assert.Equal(first.RepeatabilityRequestId, retried.RepeatabilityRequestId);
        Assert.Equal(first.RepeatabilityFirstSent, retried.RepeatabilityFirstSent);
        Assert.Equal(code, retried.Code);
        var stored = await app.GetAsync(verification.Id);
        Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.Failover);
        Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.SmsSent);
        Assert.True(stored.SendOn(Channel.Sms)?.MessageId is not null);
    }

    [Fact]
    public async Task AWhatsAppSendWhoseOutcomeIsUnknown_IsNotRepeated_TheSmsGoesOutInstead()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        app.WhatsApp.Respond = (_, _) => throw new TaskCanceledException("The request timed out after it was sent.");

        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        var sms = await app.Sms.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(15));

        Assert.Equal(code, sms.Code);
        Assert.Equal(1, app.WhatsApp.Calls);
        var failover = Assert.Single((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover);
        Assert.Equal("send_error", failover.Reason);
        Assert.Equal("whatsapp_outcome_unknown", failover.Detail);
    }

    [Fact]
    public async Task SendActivities_RunAgainAfterSuccess_SendNothingMore()
    {
        await using var app = await TestApp.StartAsync();
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);
        var activities = app.Activities;

        var whatsApp = await activities.SendCodeAsync(new SendCodeRequest(verification.Id, Channel.WhatsApp), default);
        var sms = await activities.SendCodeAsync(new SendCodeRequest(verification.Id, Channel.Sms, FailoverReason.Timeout, After: Channel.WhatsApp), default);

        Assert.True(whatsApp.Sent);
        Assert.True(sms.Sent);
        Assert.Equal(1, app.WhatsApp.Calls);
        Assert.Equal(1, app.Sms.Calls);
        Assert.Single((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover);
    }

    [Fact]
    public async Task SendActivities_ForAnEndedVerification_SendNothing()
    {
        await using var app = await TestApp.StartAsync();
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();
        await app.Verifications.CancelAsync(verification.Id, app.Client, default);
        var activities = app.Activities;

        var sms = await activities.SendCodeAsync(new SendCodeRequest(verification.Id, Channel.Sms, FailoverReason.Requested, After: Channel.WhatsApp), default);

        Assert.False(sms.Sent);
        Assert.Equal(VerificationStatus.Canceled, sms.Status);
        Assert.Equal(0, app.Sms.Calls);
        Assert.Equal(VerificationStatus.Canceled, await activities.ExpireAsync(new EndVerificationRequest(verification.Id), default));
    }
}
