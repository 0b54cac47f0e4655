using Microsoft.DurableTask.Client;
using OtpFailover.Channels;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Verifications;

/// <summary>Signals that come twice, out of order, late, or after the wait they belonged to timed out.</summary>
public sealed class SignalOrderingTests
{
    [Fact]
    public async Task DuplicateAndOutOfOrderStatuses_ChangeNothing()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();
        var at = DateTimeOffset.UtcNow;

        Assert.Equal(StatusUpdateOutcome.Applied, await Apply(app, verification.Id, DeliveryStatus.Read, at));
        Assert.Equal(StatusUpdateOutcome.Unchanged, await Apply(app, verification.Id, DeliveryStatus.Read, at));
        Assert.Equal(StatusUpdateOutcome.Unchanged, await Apply(app, verification.Id, DeliveryStatus.Delivered, at.AddSeconds(-1)));
        Assert.Equal(StatusUpdateOutcome.Unchanged, await Apply(app, verification.Id, DeliveryStatus.Sent, at.AddSeconds(-2)));
        Assert.Equal(StatusUpdateOutcome.Unchanged, await Apply(app, verification.Id, DeliveryStatus.Failed, at.AddSeconds(1)));

        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(DeliveryStatus.Read, stored.SendOn(Channel.WhatsApp)?.Delivery);
        Assert.Equal([TimelineEventTypes.Created, TimelineEventTypes.WhatsAppSent, TimelineEventTypes.WhatsAppRead], stored.Timeline.Select(e => e.Type));
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.WhatsAppConfirmed);
        Assert.Equal(0, app.Sms.Calls);
    }

    [Fact]
    public async Task LateDeliveredAndFailedStatuses_AfterTheSms_NeverSendASecondSms()
    {
        await using var app = await TestApp.StartAsync();
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Sms.WaitForMessageAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);

        Assert.Equal(StatusUpdateOutcome.Applied, await Apply(app, verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow));
        Assert.Equal(StatusUpdateOutcome.Unchanged, await Apply(app, verification.Id, DeliveryStatus.Failed, DateTimeOffset.UtcNow));
        Assert.Equal(ChangeOutcome.NoChannelLeft, (await app.Verifications.ResendAsync(verification.Id, app.Client, default)).Outcome);
        await Task.Delay(TimeSpan.FromSeconds(2));

        Assert.Equal(1, app.Sms.Calls);
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(VerificationStatus.Pending, stored.Status);
        Assert.Equal(Channel.Sms, stored.Channel);
        Assert.Contains(stored.Timeline, e => e.Type == TimelineEventTypes.WhatsAppDelivered);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
        Assert.Equal(VerificationStatus.Approved, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());
    }

    /// <summary>
    /// The orchestration waited for a WhatsApp status, the wait timed out, and the approval arrives while the SMS
    /// activity is still running, when no wait is current. A wait abandoned at its timeout would take that event
    /// and drop it (azure-functions-durable-extension#3255), leaving the instance running until the code expired;
    /// here the approval must end it at once.
    /// </summary>
    [Fact]
    public async Task AnEventAfterATimedOutWait_ArrivingBetweenWaits_IsNotLost()
    {
        await using var app = await TestApp.StartAsync(o => o.CodeLifetime = TimeSpan.FromMinutes(5));
        app.Sms.Hold();
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Sms.WaitForMessageAsync();

        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        app.Sms.Release();

        using var soon = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var instance = await app.Client.WaitForInstanceCompletionAsync(verification.Id, getInputsAndOutputs: true, soon.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
        Assert.Equal(VerificationStatus.Approved, instance.ReadOutputAs<VerificationStatus>());
    }

    [Fact]
    public async Task AnEventAfterTheUnverifiedWaitTimedOut_IsNotLost()
    {
        await using var app = await TestApp.StartAsync(o =>
        {
            o.CodeLifetime = TimeSpan.FromMinutes(5);
            o.FailoverIfUnverifiedAfter = TimeSpan.FromSeconds(1);
        });
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();
        await Apply(app, verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow);
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);

        Assert.Equal(ChangeOutcome.Done, (await app.Verifications.CancelAsync(verification.Id, app.Client, default)).Outcome);

        using var soon = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var instance = await app.Client.WaitForInstanceCompletionAsync(verification.Id, getInputsAndOutputs: true, soon.Token);
        Assert.Equal(VerificationStatus.Canceled, instance.ReadOutputAs<VerificationStatus>());
    }

    /// <summary>
    /// A real WhatsApp reports sent, delivered and read. Only the first confirmation changes what the orchestration
    /// does; <c>read</c> after <c>delivered</c> is a timeline entry, and waking the orchestration for it cost a queue
    /// message and a turn's history rows.
    /// </summary>
    [Fact]
    public async Task ReadAfterDelivered_IsRecorded_WithoutWakingTheOrchestration()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25), backend: DurableBackend.AzureStorage);
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        var at = DateTimeOffset.UtcNow;

        Assert.Equal(StatusUpdateOutcome.Unchanged, await Apply(app, verification.Id, DeliveryStatus.Sent, at)); // the send recorded it
        Assert.Equal(StatusUpdateOutcome.Applied, await Apply(app, verification.Id, DeliveryStatus.Delivered, at.AddSeconds(1)));
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.WhatsAppConfirmed);
        Assert.Equal(StatusUpdateOutcome.Applied, await Apply(app, verification.Id, DeliveryStatus.Read, at.AddSeconds(2)));
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
        Assert.Equal(VerificationStatus.Approved, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());

        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(
            [TimelineEventTypes.Created, TimelineEventTypes.WhatsAppSent, TimelineEventTypes.WhatsAppDelivered, TimelineEventTypes.WhatsAppRead, TimelineEventTypes.Approved],
            stored.Timeline.Select(e => e.Type));

        // The signals the orchestration received: delivered, and the approval.
        var history = new Azure.Data.Tables.TableClient(Azurite.ConnectionString, $"{app.TaskHubName}History");
        var raised = 0;
        await foreach (var row in history.QueryAsync<Azure.Data.Tables.TableEntity>(r => r.PartitionKey == verification.Id))
        {
            raised += row.GetString("EventType") == "EventRaised" ? 1 : 0;
        }

        Assert.Equal(2, raised);
    }

    [Fact]
    public async Task WhenReadConfirms_ReadAfterDelivered_WakesTheOrchestration_WithoutWaitingForTheTimeout()
    {
        await using var app = await TestApp.StartAsync(o => (o.FailoverWhen, o.WhatsAppDeliveryTimeout) = (FailoverWhen.Read, TimeSpan.FromMinutes(5)));
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();
        var at = DateTimeOffset.UtcNow;

        Assert.Equal(StatusUpdateOutcome.Applied, await Apply(app, verification.Id, DeliveryStatus.Delivered, at));
        Assert.Equal(StatusUpdateOutcome.Applied, await Apply(app, verification.Id, DeliveryStatus.Read, at.AddSeconds(1)));

        // Well before the five-minute delivery timeout: only the read signal can have moved it.
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.WhatsAppConfirmed);
    }

    private static Task<StatusUpdateOutcome> Apply(TestApp app, string id, DeliveryStatus status, DateTimeOffset at) =>
        app.Verifications.ApplyWhatsAppStatusAsync(id, status, at, null, app.Client, default);
}
