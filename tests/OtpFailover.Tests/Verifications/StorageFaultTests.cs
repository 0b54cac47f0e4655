using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Grpc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OtpFailover.Channels;
using OtpFailover.PhoneNumbers;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Verifications;

/// <summary>
/// What an operator meets after a crash or an outage: writes whose answer was lost, a table that fails for a while,
/// a provider that refuses everything, a workflow that could not be scheduled. Each of these broke something once.
/// </summary>
public sealed class StorageFaultTests
{
    private static GrpcDurableTaskClient Unreachable() => new(
        "unreachable",
        new GrpcDurableTaskClientOptions { Address = $"http://127.0.0.1:{AzureStorageDurableHost.FreeLoopbackPort()}" },
        NullLogger.Instance);

    private static Task<TestApp> StartWithFaultsAsync(StorageFaults faults, Action<VerificationOptions>? configure = null, int? maxRetries = null) =>
        TestApp.StartAsync(configure ?? (o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25)), services: s => s.AddSingleton(StorageFaults.Client(faults, maxRetries)));

    [Fact]
    public async Task SmsTheProviderRefused_DuringAnOutage_DoNotUseUpTheNumbersSmsLimit()
    {
        await using var app = await TestApp.StartAsync(abuse: a => a.SmsPerNumber = new(3, TimeSpan.FromHours(1)));
        app.WhatsApp.Respond = (_, _) => ChannelSendResult.Rejected("whatsapp_131026_undeliverable");
        app.Sms.Respond = (_, _) => ChannelSendResult.Rejected("sms_http_503");
        for (var i = 0; i < 3; i++)
        {
            await app.WaitForCompletionAsync((await app.StartAsync("+14155550123")).Id);
        }

        app.Sms.Respond = (_, _) => ChannelSendResult.Accepted("sms-after-the-outage");
        var afterOutage = await app.StartAsync("+14155550123");
        await app.WaitForPhaseAsync(afterOutage.Id, WorkflowPhases.SmsSent);

        Assert.Equal(4, app.Sms.Calls);
        Assert.True((await app.GetAsync(afterOutage.Id)).SendOn(Channel.Sms)?.MessageId is not null);
    }

    [Fact]
    public async Task AResendWhoseWriteReachedTheTable_ButWhoseAnswerWasLost_StillReachesTheWorkflow()
    {
        var faults = new StorageFaults();
        await using var app = await StartWithFaultsAsync(faults);
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();
        await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default);
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.WhatsAppConfirmed);

        faults.LoseAnswerOfNextWrite(verification.Id);
        var result = await app.Verifications.ResendAsync(verification.Id, app.Client, default);

        Assert.Equal(ChangeOutcome.Done, result.Outcome);
        await app.Sms.WaitForMessageAsync();
    }

    [Fact]
    public async Task ARightCodeWhoseWriteReachedTheTable_ButWhoseAnswerWasLost_IsApproved_AndTheWorkflowTold()
    {
        var faults = new StorageFaults();
        await using var app = await StartWithFaultsAsync(faults);
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.AwaitingWhatsAppDelivery);

        faults.LoseAnswerOfNextWrite(verification.Id);
        var result = await app.Verifications.CheckAsync(verification.Id, code, app.Client, default);

        Assert.Equal(CheckOutcome.Approved, result.Outcome);
        Assert.Equal(VerificationStatus.Approved, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());
    }

    [Fact]
    public async Task AWrongCodeWhoseWriteReachedTheTable_ButWhoseAnswerWasLost_CostsOneAttempt()
    {
        var faults = new StorageFaults();
        await using var app = await StartWithFaultsAsync(faults);
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.AwaitingWhatsAppDelivery);

        faults.LoseAnswerOfNextWrite(verification.Id);
        var result = await app.Verifications.CheckAsync(verification.Id, code == "000000" ? "111111" : "000000", app.Client, default);

        Assert.Equal(CheckOutcome.Incorrect, result.Outcome);
        Assert.Equal(1, (await app.GetAsync(verification.Id)).AttemptsUsed);
    }

    [Fact]
    public async Task AnIdempotencyClaimWhoseAnswerWasLost_StillStarts()
    {
        var faults = new StorageFaults();
        await using var app = await StartWithFaultsAsync(faults);
        faults.LoseAnswerOfNextWrite("idem-");

        var result = await app.TryStartAsync("+14155550123", idempotencyKey: "form-5b1e-41c2-8a7d");

        Assert.Equal(StartOutcome.Started, result.Outcome);
    }

    [Fact]
    public async Task ARetryWithTheSameKey_AfterTheWorkflowCouldNotBeScheduled_StartsAfresh()
    {
        await using var app = await TestApp.StartAsync();
        await using var unreachable = Unreachable();
        Assert.True(PhoneNumber.TryParse("+14155550123", out var number));
        await Assert.ThrowsAnyAsync<Exception>(() => app.Verifications.StartAsync(new StartRequest(number, IdempotencyKey: "form-5b1e-41c2-8a7d"), unreachable, default));

        var retry = await app.TryStartAsync("+14155550123", idempotencyKey: "form-5b1e-41c2-8a7d");

        Assert.Equal(StartOutcome.Started, retry.Outcome);
        await app.WhatsApp.WaitForMessageAsync();
    }

    [Fact]
    public async Task AStartWhoseCommitFailed_IsUndone_AndARetryWithTheSameKeySends()
    {
        var faults = new StorageFaults();
        await using var app = await StartWithFaultsAsync(faults, maxRetries: 0);
        faults.FailWritesTo = "usage-number-";
        await Assert.ThrowsAnyAsync<Exception>(() => app.TryStartAsync("+14155550123", idempotencyKey: "form-5b1e-41c2-8a7d"));
        faults.FailWritesTo = null;

        var retry = await app.TryStartAsync("+14155550123", idempotencyKey: "form-5b1e-41c2-8a7d");

        Assert.Equal(StartOutcome.Started, retry.Outcome);
        await app.WhatsApp.WaitForMessageAsync();
        var undone = (await app.RowsAsync()).Where(r => r.RowKey == "verification" && r.PartitionKey != retry.Verification!.Id).Select(r => r.PartitionKey).ToList();
        Assert.Equal(VerificationStatus.Failed, (await app.GetAsync(Assert.Single(undone))).Status);
        var starts = Assert.Single(await app.RowsAsync(), r => r.PartitionKey.StartsWith("usage-number-", StringComparison.Ordinal)).GetString("Starts");
        Assert.DoesNotContain(undone[0], starts, StringComparison.Ordinal);
        Assert.Contains(retry.Verification!.Id, starts, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnSmsAcceptedJustBeforeAShortStorageOutage_DoesNotEndFailed()
    {
        var faults = new StorageFaults();
        await using var app = await StartWithFaultsAsync(faults, o => o.CodeLifetime = TimeSpan.FromMinutes(5), maxRetries: 0);
        app.WhatsApp.Respond = (_, _) => ChannelSendResult.Rejected("whatsapp_131026_undeliverable");
        app.Sms.Respond = (_, _) =>
        {
            faults.FailNext = 4;
            return ChannelSendResult.Accepted("sms-1");
        };
        var verification = await app.StartAsync("+14155550123");

        await app.Sms.WaitForMessageAsync();
        string? phase = null;
        for (var waited = 0; waited < 300 && phase is not ("\"sms.sent\"" or "\"sms.outcome_unknown\""); waited++)
        {
            await Task.Delay(100);
            phase = (await app.Client.GetInstanceAsync(verification.Id, getInputsAndOutputs: true))?.SerializedCustomStatus;
        }

        Assert.True(phase is "\"sms.sent\"" or "\"sms.outcome_unknown\"", $"the workflow is at {phase}: {string.Join(", ", (await app.GetAsync(verification.Id)).Timeline.Select(e => $"{e.Type} {e.Detail}"))}");
        Assert.Equal(VerificationStatus.Pending, (await app.GetAsync(verification.Id)).Status);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, app.Sms.Messages[0].Code, app.Client, default)).Outcome);
    }

    [Fact]
    public async Task ADeliveredStatusWhoseSignalWasLost_StopsTheSmsWhenTheTimerFires_BecauseTheRowSaysDelivered()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(3));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await using var unreachable = Unreachable();

        var applied = await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, unreachable, default);
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.WhatsAppConfirmed);

        Assert.Equal(StatusUpdateOutcome.Applied, applied);
        Assert.Equal(0, app.Sms.Calls);
        Assert.DoesNotContain((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
    }

    [Fact]
    public async Task AFailedStatusWhoseSignalWasLost_FailsOverAtTheTimer_WithReasonFailed()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(3));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await using var unreachable = Unreachable();

        await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Failed, DateTimeOffset.UtcNow, "131026", unreachable, default);

        Assert.Equal(code, (await app.Sms.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(15))).Code);
        Assert.Equal("failed", Assert.Single((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover).Reason);
    }

    [Fact]
    public async Task AResendWhoseSignalWasLost_DuringTheDeliveryWait_FailsOverAtTheTimer_WithReasonRequested()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(3));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Store.UpdateAsync(verification.Id, e =>
        {
            e.ResendRequestedAt = DateTimeOffset.UtcNow;
            return true;
        });

        Assert.Equal(code, (await app.Sms.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(15))).Code);
        Assert.Equal("requested", Assert.Single((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover).Reason);
    }

    [Fact]
    public async Task ADeliveredStatusWhoseSignalWasLost_StillFailsOverAtTheTimer_WhenOnlyReadConfirms()
    {
        await using var app = await TestApp.StartAsync(o => (o.WhatsAppDeliveryTimeout, o.FailoverWhen) = (TimeSpan.FromSeconds(3), FailoverWhen.Read));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await using var unreachable = Unreachable();

        await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, unreachable, default);

        Assert.Equal(code, (await app.Sms.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(15))).Code);
        Assert.Equal("timeout", Assert.Single((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover).Reason);
    }

    /// <summary>
    /// After the delivery wait timed out, the SMS activity decides by the row in the write that records the failover;
    /// run again (an activity can run twice), it decides the same and writes nothing.
    /// </summary>
    [Fact]
    public async Task TheSmsStepAfterATimedOutWait_OnARowThatSaysDelivered_SendsAndWritesNothing_EveryTimeItRuns()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();
        await app.Store.UpdateAsync(verification.Id, e =>
        {
            e.Put(e.SendOn(Channel.WhatsApp)! with { Delivery = DeliveryStatus.Delivered });
            return true;
        });
        var before = (await app.Store.FindAsync(verification.Id))!.ETag;

        for (var run = 0; run < 2; run++)
        {
            var result = await app.Activities.SendCodeAsync(new SendCodeRequest(verification.Id, Channel.Sms, FailoverReason.Timeout, After: Channel.WhatsApp, UnlessConfirmedBy: FailoverWhen.Delivered), default);

            Assert.False(result.Sent);
            Assert.True(result.PreviousConfirmed);
            Assert.Equal(VerificationStatus.Pending, result.Status);
        }

        Assert.Equal(0, app.Sms.Calls);
        Assert.Equal(before, (await app.Store.FindAsync(verification.Id))!.ETag);
    }

    /// <summary>
    /// Both signals late (a worker died holding them): the row says delivered, and that the user asked for the SMS.
    /// The user's request wins: the SMS step after the timed-out wait sends it now, with its reason.
    /// </summary>
    [Fact]
    public async Task TheSmsStepAfterATimedOutWait_OnARowThatSaysDeliveredAndResendAsked_SendsTheSmsTheUserAskedFor()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Store.UpdateAsync(verification.Id, e =>
        {
            e.Put(e.SendOn(Channel.WhatsApp)! with { Delivery = DeliveryStatus.Delivered });
            e.ResendRequestedAt = DateTimeOffset.UtcNow;
            return true;
        });

        var result = await app.Activities.SendCodeAsync(new SendCodeRequest(verification.Id, Channel.Sms, FailoverReason.Timeout, After: Channel.WhatsApp, UnlessConfirmedBy: FailoverWhen.Delivered), default);

        Assert.True(result.Sent);
        Assert.False(result.PreviousConfirmed);
        Assert.Equal(code, (await app.Sms.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(5))).Code);
        Assert.Equal("requested", Assert.Single((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover).Reason);
    }

    /// <summary>
    /// The wait after delivery reads the row every reconcile interval. A read that fails after all its retries (the
    /// table unreachable for longer than they last) must not end the orchestration: it would take the SMS a resend asks
    /// for, the unverified failover and the expiry with it.
    /// </summary>
    [Fact]
    public async Task AReconcileReadThatFailsAfterItsRetries_LeavesTheWorkflowWaiting_AndALaterResendStillSendsTheSms()
    {
        var faults = new StorageFaults();
        await using var app = await StartWithFaultsAsync(faults, o => (o.WhatsAppDeliveryTimeout, o.ReconcileInterval) = (TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(2)), maxRetries: 0);
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default);
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.WhatsAppConfirmed);

        // The row cannot be read for longer than a read's retries last (1 + 2 + 4 s of backoff after a 2 s interval).
        faults.FailReadsWhen = request => request.Contains(verification.Id, StringComparison.Ordinal);
        await Task.Delay(TimeSpan.FromSeconds(12));
        faults.FailReadsWhen = null;
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await app.Client.GetInstanceAsync(verification.Id))!.RuntimeStatus);

        Assert.Equal(ChangeOutcome.Done, (await app.Verifications.ResendAsync(verification.Id, app.Client, default)).Outcome);
        Assert.Equal(code, (await app.Sms.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(15))).Code);
    }

    /// <summary>
    /// A provider that throttles for as long as the code lives is tried again every few seconds: one timeline entry
    /// says so, not one per attempt (hundreds would fill the timeline and push out how the verification ended).
    /// </summary>
    [Fact]
    public async Task AnSmsDeferredAgainAndAgain_IsOneTimelineEntry()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        app.WhatsApp.Respond = (_, _) => ChannelSendResult.Rejected("whatsapp_131026_undeliverable");
        app.Sms.Respond = (_, index) => index < 3
            ? ChannelSendResult.Rejected("sms_http_429") with { TryAgainAfter = TimeSpan.FromSeconds(1) }
            : ChannelSendResult.Accepted($"sms-{index}");

        var verification = await app.StartAsync("+14155550123");
        var sms = await app.Sms.WaitForMessageAsync(4, TimeSpan.FromSeconds(30));
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, sms.Code, app.Client, default)).Outcome);

        var types = (await app.GetAsync(verification.Id)).Timeline.Select(e => e.Type).ToList();
        Assert.Equal(1, types.Count(t => t == TimelineEventTypes.SmsDeferred));
        Assert.Equal([TimelineEventTypes.SmsDeferred, TimelineEventTypes.SmsSent, TimelineEventTypes.Approved], types.SkipWhile(t => t != TimelineEventTypes.SmsDeferred));
    }

    [Fact]
    public async Task AResendWhoseSignalIsLate_StillSendsTheSms_WhenTheWorkflowNextReadsTheRow()
    {
        await using var app = await TestApp.StartAsync(o => (o.WhatsAppDeliveryTimeout, o.ReconcileInterval) = (TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(2)));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default);
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.WhatsAppConfirmed);

        // The row records the request; its signal is held up (as a message taken by a worker that died would be).
        await app.Store.UpdateAsync(verification.Id, e =>
        {
            e.ResendRequestedAt = DateTimeOffset.UtcNow;
            return true;
        });

        var sms = await app.Sms.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(15));
        Assert.Equal(code, sms.Code);
        Assert.Equal("requested", Assert.Single((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover).Reason);
    }

    [Fact]
    public async Task AnApprovalWhoseSignalWasLost_EndsTheWorkflow_WhenItNextReadsTheRow()
    {
        await using var app = await TestApp.StartAsync(o => (o.WhatsAppDeliveryTimeout, o.ReconcileInterval) = (TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(2)));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default);
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.WhatsAppConfirmed);
        await using var unreachable = Unreachable();

        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, unreachable, default)).Outcome);

        Assert.Equal(VerificationStatus.Approved, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());
    }
}
