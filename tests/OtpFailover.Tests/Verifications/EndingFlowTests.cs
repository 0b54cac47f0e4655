using Microsoft.DurableTask.Client;
using OtpFailover.Channels;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;

namespace OtpFailover.Tests.Verifications;

/// <summary>How a verification ends other than by approval: cancel, expiry, too many wrong codes.</summary>
public sealed class EndingFlowTests
{
    [Fact]
    public async Task Cancel_EndsTheOrchestration_AndNothingMoreIsSent()
    {
        await using var app = await TestApp.StartAsync();
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();

        var cancel = await app.Verifications.CancelAsync(verification.Id, app.Client, default);
        Assert.Equal(ChangeOutcome.Done, cancel.Outcome);

        var instance = await app.WaitForCompletionAsync(verification.Id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
        Assert.Equal(VerificationStatus.Canceled, instance.ReadOutputAs<VerificationStatus>());
        await Task.Delay(app.Options.WhatsAppDeliveryTimeout + TimeSpan.FromSeconds(1));
        Assert.Equal(0, app.Sms.Calls);
        Assert.Equal(CheckOutcome.AlreadyEnded, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
        Assert.Equal(ChangeOutcome.Done, (await app.Verifications.CancelAsync(verification.Id, app.Client, default)).Outcome);
        Assert.Equal(ChangeOutcome.AlreadyEnded, (await app.Verifications.ResendAsync(verification.Id, app.Client, default)).Outcome);
    }

    [Fact]
    public async Task CodeLifetime_RunningOut_EndsItExpired_AndTheCodeNoLongerWorks()
    {
        await using var app = await TestApp.StartAsync(o =>
        {
            o.CodeLifetime = TimeSpan.FromSeconds(4);
            o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(2);
        });
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default);

        var instance = await app.WaitForCompletionAsync(verification.Id);

        Assert.Equal(VerificationStatus.Expired, instance.ReadOutputAs<VerificationStatus>());
        Assert.True(instance.LastUpdatedAt >= verification.ExpiresAt.AddMilliseconds(-50), "The orchestration ended before the code's lifetime ran out.");
        Assert.Equal(TimelineEventTypes.Expired, (await app.GetAsync(verification.Id)).Timeline[^1].Type);
        Assert.Equal(CheckOutcome.AlreadyEnded, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
        Assert.Equal(0, app.Sms.Calls);
    }

    [Fact]
    public async Task WrongCodes_UpToTheLimit_EndItMaxAttemptsReached_AndTheRightCodeIsRefusedAfter()
    {
        await using var app = await TestApp.StartAsync(o => o.MaxCheckAttempts = 3);
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        var wrong = code == "000000" ? "111111" : "000000";

        var first = await app.Verifications.CheckAsync(verification.Id, wrong, app.Client, default);
        Assert.Equal(CheckOutcome.Incorrect, first.Outcome);
        Assert.Equal(2, first.Verification!.AttemptsRemaining);
        Assert.Equal(CheckOutcome.Incorrect, (await app.Verifications.CheckAsync(verification.Id, wrong, app.Client, default)).Outcome);
        var last = await app.Verifications.CheckAsync(verification.Id, wrong, app.Client, default);
        Assert.Equal(CheckOutcome.MaxAttemptsReached, last.Outcome);
        Assert.Equal(0, last.Verification!.AttemptsRemaining);

        var instance = await app.WaitForCompletionAsync(verification.Id);
        Assert.Equal(VerificationStatus.MaxAttemptsReached, instance.ReadOutputAs<VerificationStatus>());
        var refused = await app.Verifications.CheckAsync(verification.Id, code, app.Client, default);
        Assert.Equal(CheckOutcome.AlreadyEnded, refused.Outcome);
        Assert.Equal(VerificationStatus.MaxAttemptsReached, refused.Verification!.Status);
        Assert.Equal(3, refused.Verification.Timeline.Count(e => e.Type == TimelineEventTypes.CheckFailed));
    }
}
