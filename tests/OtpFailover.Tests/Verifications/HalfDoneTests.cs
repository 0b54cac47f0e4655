using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Abuse;
using OtpFailover.Channels;
using OtpFailover.Codes;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Verifications;

/// <summary>
/// Requests and activities stopped half way (a storage error, a lost answer with another writer in between, a
/// cancellation) must leave nothing half done: no place held in a limit, no key bound, no wrong ending.
/// </summary>
public sealed class HalfDoneTests
{
    private static Task<TestApp> StartAsync(StorageFaults faults, Action<VerificationOptions>? configure = null) =>
        TestApp.StartAsync(configure ?? (o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25)), services: s => s.AddSingleton(StorageFaults.Client(faults, maxRetries: 3)));

    private static async Task<string> UsageAsync(TestApp app, string column) =>
        string.Join(" | ", (await app.RowsAsync()).Where(r => r.PartitionKey.StartsWith("usage-", StringComparison.Ordinal)).Select(r => r.GetString(column)).Where(v => v is { Length: > 2 }));

    [Fact]
    public async Task AStartWhoseClientRowCannotBeWritten_HoldsNoPlace_AndItsKeyIsFreeForTheRetry()
    {
        var faults = new StorageFaults { FailWritesWhen = request => request.Contains("usage-client-", StringComparison.Ordinal) };
        await using var app = await StartAsync(faults);
        await Assert.ThrowsAnyAsync<Exception>(() => app.TryStartAsync("+14155550123", clientSubjects: ["ip:203.0.113.9"], idempotencyKey: "form-5b1e-41c2-8a7d-aaaa"));
        faults.FailWritesWhen = null;

        Assert.Equal(string.Empty, await UsageAsync(app, "Starts"));
        var retry = await app.TryStartAsync("+14155550123", clientSubjects: ["ip:203.0.113.9"], idempotencyKey: "form-5b1e-41c2-8a7d-aaaa");
        Assert.Equal(StartOutcome.Started, retry.Outcome);
    }

    [Fact]
    public async Task ARightCode_WhoseAnswerWasLost_WhileAWebhookWroteTheRowToo_IsApproved()
    {
        var faults = new StorageFaults();
        await using var app = await StartAsync(faults);
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.AwaitingWhatsAppDelivery);
        var armed = 1;
        faults.AfterCommitThenLoseAnswer = request => request.Contains(verification.Id, StringComparison.Ordinal) && request.Contains("Approved", StringComparison.Ordinal) && Interlocked.Exchange(ref armed, 0) == 1
            ? () => app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Read, DateTimeOffset.UtcNow, null, app.Client, default)
            : null;

        var result = await app.Verifications.CheckAsync(verification.Id, code, app.Client, default);

        Assert.Equal(CheckOutcome.Approved, result.Outcome);
    }

    [Fact]
    public async Task AWrongCode_WhoseAnswerWasLost_WhileAWebhookWroteTheRowToo_CostsOneAttempt()
    {
        var faults = new StorageFaults();
        await using var app = await StartAsync(faults);
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.AwaitingWhatsAppDelivery);
        var armed = 1;
        faults.AfterCommitThenLoseAnswer = request => request.Contains(verification.Id, StringComparison.Ordinal) && request.Contains("\"AttemptsUsed\":1", StringComparison.Ordinal) && Interlocked.Exchange(ref armed, 0) == 1
            ? () => app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default)
            : null;

        var result = await app.Verifications.CheckAsync(verification.Id, code == "000000" ? "111111" : "000000", app.Client, default);

        Assert.Equal(CheckOutcome.Incorrect, result.Outcome);
        Assert.Equal(1, (await app.GetAsync(verification.Id)).AttemptsUsed);
    }

    [Fact]
    public async Task AnSmsSentByARunThatCouldNotRecordIt_IsNotRefundedOrFailed_WhenTheNextRunMeetsAnOpenBreaker()
    {
        var faults = new StorageFaults();
        await using var app = await StartAsync(faults, o => o.CodeLifetime = TimeSpan.FromMinutes(2));
        app.WhatsApp.Respond = (_, _) => ChannelSendResult.Rejected("whatsapp_131026_undeliverable");
        app.Sms.Respond = (message, call) =>
        {
            if (call == 0)
            {
                // The write that records the SMS as sent is the only one that holds its message id (its keyed hash).
                var messageKey = app.Services.GetRequiredService<ProviderMessageKeys>().Of("sms-1");
                faults.FailWritesWhen = request => request.Contains(message.VerificationId, StringComparison.Ordinal) && request.Contains(messageKey, StringComparison.Ordinal);
                return ChannelSendResult.Accepted("sms-1");
            }

            faults.FailWritesWhen = null;
            return ChannelSendResult.Rejected("sms_circuit_open");
        };

        var verification = await app.StartAsync("+14155550123");
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);

        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(VerificationStatus.Pending, stored.Status);
        Assert.Equal(VerificationActivities.OutcomeUnknown, Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.SmsSent).Detail);
        Assert.Contains(verification.Id, await UsageAsync(app, "Sms"), StringComparison.Ordinal);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, app.Sms.Messages[0].Code, app.Client, default)).Outcome);
    }

    [Fact]
    public async Task ARightCode_NeedsNothingFromTheNumbersRow_SoItsOutageCannotStopTheApproval()
    {
        var faults = new StorageFaults();
        await using var app = await StartAsync(faults);
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.AwaitingWhatsAppDelivery);
        faults.FailWritesWhen = request => request.Contains("usage-number-", StringComparison.Ordinal);

        var result = await app.Verifications.CheckAsync(verification.Id, code, app.Client, default);

        Assert.Equal(CheckOutcome.Approved, result.Outcome);
    }

    [Fact]
    public async Task AWrongCodeCancelledJustAfterItWasRecorded_TakesItsRecordBack_AndCostsNoAttempt()
    {
        var faults = new StorageFaults();
        await using var app = await StartAsync(faults);
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.AwaitingWhatsAppDelivery);
        using var cancel = new CancellationTokenSource();
        var armed = 1;
        faults.ThrowAfterCommit = request =>
        {
            if (request.Contains("usage-number-", StringComparison.Ordinal) && Interlocked.Exchange(ref armed, 0) == 1)
            {
                cancel.Cancel();
                return new OperationCanceledException(cancel.Token);
            }

            return null;
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => app.Verifications.CheckAsync(verification.Id, code == "000000" ? "111111" : "000000", app.Client, cancel.Token));

        Assert.Equal(string.Empty, await UsageAsync(app, "FailedChecks"));
        Assert.Equal(VerificationStatus.Pending, (await app.GetAsync(verification.Id)).Status);
    }

    [Fact]
    public async Task AnSmsStepThatFailedBeforeSendingAnything_EndsTheVerificationFailed_AndOffersNoResend()
    {
        // The write that records the move to SMS is the first to hold an SMS entry in the row's channel sends.
        // (The row's JSON columns are strings in the request: their quotes are escaped, as \u0022 or \".)
        var faults = new StorageFaults { FailWritesWhen = request => request.Replace("\\u0022", "\"", StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal).Contains("\"channel\":\"sms\"", StringComparison.Ordinal) };
        await using var app = await StartAsync(faults, o => o.CodeLifetime = TimeSpan.FromMinutes(2));
        app.WhatsApp.Respond = (_, _) => ChannelSendResult.Rejected("whatsapp_131026_undeliverable");

        var verification = await app.StartAsync("+14155550123");
        var outcome = (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>();
        faults.FailWritesWhen = null;

        Assert.Equal(VerificationStatus.Failed, outcome);
        Assert.Equal(0, app.Sms.Calls);
        Assert.Equal(ChangeOutcome.AlreadyEnded, (await app.Verifications.ResendAsync(verification.Id, app.Client, default)).Outcome);
    }
}
