using Azure.Data.Tables;
using OtpFailover.Channels;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Verifications;

/// <summary>
/// The Azure Storage backend fires a durable timer up to a second early (timer messages are delayed in whole
/// seconds). Nothing may act before its deadline, and the rest of that second must not cost a storm of turns.
/// </summary>
public sealed class EarlyTimerTests
{
    /// <summary>
    /// Setting a timer again for the rest of the second fired it at once, again and again until the second was over:
    /// about 20 timers and 90 history events per failover, each turn a queue message and History writes.
    /// </summary>
    [Fact]
    public async Task AFailover_OnTheAzureStorageBackend_SetsOneTimerPerDeadline_AndSendsNoSmsBeforeTheTimeout()
    {
        await using var app = await TestApp.StartAsync(backend: DurableBackend.AzureStorage);
        var started = DateTimeOffset.UtcNow;
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();

        await app.Sms.WaitForMessageAsync();
        Assert.True(DateTimeOffset.UtcNow - started >= app.Options.WhatsAppDeliveryTimeout, "The SMS went out before the WhatsApp delivery timeout.");
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
        await app.WaitForCompletionAsync(verification.Id);

        var history = new TableClient(Azurite.ConnectionString, $"{app.TaskHubName}History");
        var timers = new List<string>();
        await foreach (var row in history.QueryAsync<TableEntity>(r => r.PartitionKey == verification.Id))
        {
            if (row.GetString("EventType") == "TimerCreated")
            {
                timers.Add($"{row.GetDateTime("FireAt"):HH:mm:ss.fff}");
            }
        }

        // The code's expiry and the delivery wait; a third only if a timer fired a whole second early (clock skew).
        Assert.True(timers.Count is >= 2 and <= 3, $"{timers.Count} timers: {string.Join(", ", timers)}");
    }

    [Fact]
    public async Task TheExpiryActivity_RunAfterAnEarlyTimer_WaitsForTheDeadline_BeforeEndingTheVerification()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();
        var due = DateTimeOffset.UtcNow.AddMilliseconds(700);

        var status = await app.Activities.ExpireAsync(new EndVerificationRequest(verification.Id, NotBefore: due), default);

        Assert.Equal(VerificationStatus.Expired, status);
        Assert.True(DateTimeOffset.UtcNow >= due, "The verification expired before its deadline.");
        Assert.True(Assert.Single((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Expired).At >= due);
    }

    /// <summary>
    /// The activity's own wait may end early too: a .NET timer counts whole milliseconds on a clock of its own, and
    /// once ended the verification 0.6 ms before its deadline. It waits again until the clock says the deadline passed.
    /// </summary>
    [Fact]
    public async Task AnActivitysWait_ThatEndsEarly_WaitsOnUntilTheDeadline()
    {
        var time = new EarlyFiringTime(TimeSpan.FromMilliseconds(40));
        var due = time.GetUtcNow().AddMilliseconds(300);

        await EarlyTimers.WaitUntilAsync(time, due, default);

        Assert.True(time.GetUtcNow() >= due, $"The wait ended {(due - time.GetUtcNow()).TotalMilliseconds:0.0} ms before its deadline.");
    }

    /// <summary>
    /// The delivery timer fired early; WhatsApp's delivered status comes in the rest of that second, before the
    /// deadline. The user has the code: no SMS.
    /// </summary>
    [Fact]
    public async Task ADeliveredStatus_InTheLastSecondBeforeTheDeadline_AfterAnEarlyTimer_StopsTheSms()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();
        var due = DateTimeOffset.UtcNow.AddMilliseconds(900);

        var sms = app.Activities.SendCodeAsync(new SendCodeRequest(verification.Id, Channel.Sms, FailoverReason.Timeout, After: Channel.WhatsApp, UnlessConfirmedBy: FailoverWhen.Delivered, NotBefore: due), default);
        await Task.Delay(200);
        await app.Store.UpdateAsync(verification.Id, e =>
        {
            e.Put(e.SendOn(Channel.WhatsApp)! with { Delivery = DeliveryStatus.Delivered });
            return true;
        });
        var result = await sms;

        Assert.True(result.PreviousConfirmed);
        Assert.False(result.Sent);
        Assert.Equal(0, app.Sms.Calls);
        Assert.DoesNotContain((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover);
    }

    /// <summary>The system's clock, with timers that fire <paramref name="early"/> before they are due.</summary>
    private sealed class EarlyFiringTime(TimeSpan early) : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            System.CreateTimer(callback, state, dueTime > early ? dueTime - early : TimeSpan.Zero, period);
    }
}
