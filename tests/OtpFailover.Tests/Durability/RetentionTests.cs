using Azure.Data.Tables;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OtpFailover.Channels;
using OtpFailover.Retention;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Durability;

/// <summary>
/// The purge on the Azure Storage backend: with the clock moved past <c>Retention:KeepEndedFor</c>, nothing of the old
/// verifications is left (rows, index rows, usage, history, instances), and a verification in flight is untouched.
/// </summary>
public sealed class RetentionTests
{
    [Fact]
    public async Task AfterKeepEndedFor_NothingOfEndedVerificationsIsLeft_AndOneInFlightIsUntouched_EvenWithTwoPurgesAtOnce()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25), time: clock, backend: DurableBackend.AzureStorage);

        // Two that ended: one approved (it has a WhatsApp message and its index row), one canceled.
        var (approved, code) = await app.StartAndAwaitWhatsAppAsync("+4915112345671");
        await app.Verifications.ApplyWhatsAppStatusAsync(approved.Id, DeliveryStatus.Delivered, clock.GetUtcNow(), null, app.Client, default);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(approved.Id, code, app.Client, default)).Outcome);
        var (canceled, _) = await app.StartAndAwaitWhatsAppAsync("+4915112345672");
        Assert.Equal(ChangeOutcome.Done, (await app.Verifications.CancelAsync(canceled.Id, app.Client, default)).Outcome);
        await app.WaitForCompletionAsync(approved.Id);
        await app.WaitForCompletionAsync(canceled.Id);
        var old = new[] { approved.Id, canceled.Id };
        var oldNumbers = new List<string>();
        foreach (var id in old)
        {
            oldNumbers.Add($"usage-number-{(await app.Store.FindAsync(id))!.PhoneIndex}");
        }

        Assert.Equal(2, (await app.RowsAsync()).Count(r => oldNumbers.Contains(r.PartitionKey)));
        Assert.Contains(await app.RowsAsync(), r => old.Contains(r.GetString("VerificationId")));

        // An index row nothing can reach any more (a send retried under a new message id, or an index written late).
        await app.Store.IndexProviderMessageAsync(Channel.WhatsApp, "wamid.orphan", "00000000000000000000000000000000");

        // Thirty-one days later: one ends at once (kept: it ended a day ago when the purge runs), one stays in flight.
        clock.Advance(TimeSpan.FromDays(31));
        var (recent, recentCode) = await app.StartAndAwaitWhatsAppAsync("+4915112345674");
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(recent.Id, recentCode, app.Client, default)).Outcome);
        await app.WaitForCompletionAsync(recent.Id);
        var (inFlight, _) = await app.StartAndAwaitWhatsAppAsync("+4915112345673");
        await app.WaitForPhaseAsync(inFlight.Id, WorkflowPhases.AwaitingWhatsAppDelivery);
        clock.Advance(TimeSpan.FromDays(1));

        var retention = app.Services.GetRequiredService<RetentionService>();
        var results = await Task.WhenAll(retention.PurgeAsync(app.Client, default), retention.PurgeAsync(app.Client, default));

        // Each run counts what it deleted. (Azurite lets two deletes with the same ETag both succeed, so the two runs
        // may both count a row; what matters is below: what is left.)
        Assert.All(results, r => Assert.InRange(r.Verifications, 0, 2));
        Assert.InRange(results.Sum(r => r.Verifications), 2, 4);
        Assert.InRange(results.Sum(r => r.DurableInstances), 3, 6); // two by id, the recent one by the range (real clock)
        var rows = await app.RowsAsync();
        Assert.DoesNotContain(rows, r => old.Contains(r.PartitionKey) || old.Contains(r.GetString("VerificationId")));
        Assert.DoesNotContain(rows, r => oldNumbers.Contains(r.PartitionKey));
        Assert.DoesNotContain(rows, r => r.PartitionKey.StartsWith("msg-", StringComparison.Ordinal) && (old.Contains(r.GetString("VerificationId")) || r.GetString("VerificationId") == "00000000000000000000000000000000"));

        // One that ended within Retention:KeepEndedFor keeps its row and its index row. (Not asserted for its instance:
        // the engine stamps instances with the real clock, which this test did not move, so the range purge sees it
        // as a month old.)
        Assert.NotNull(await app.Store.FindAsync(recent.Id));
        Assert.Contains(rows, r => r.PartitionKey.StartsWith("msg-", StringComparison.Ordinal) && r.GetString("VerificationId") == recent.Id);
        foreach (var id in old)
        {
            Assert.Null(await app.Client.GetInstanceAsync(id));
        }

        var history = new TableClient(Azurite.ConnectionString, $"{app.TaskHubName}History");
        await foreach (var row in history.QueryAsync<TableEntity>(select: ["PartitionKey"]))
        {
            Assert.DoesNotContain(row.PartitionKey, old);
        }

        // The one in flight: its row, its number's usage row (which names it), its orchestration, and it still works.
        var kept = await app.Store.FindAsync(inFlight.Id);
        Assert.NotNull(kept);
        Assert.True(kept.IsPending);
        Assert.Contains(rows, r => r.GetString("Holder") == inFlight.Id);
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await app.Client.GetInstanceAsync(inFlight.Id))!.RuntimeStatus);

        // A third run finds nothing more to do.
        var third = await retention.PurgeAsync(app.Client, default);
        Assert.Equal(new RetentionResult(0, 0, 0, 0, 0, 0), third);
    }

    [Fact]
    public async Task AStart_ThatRacesThePurgeOfItsNumbersUsageRow_StartsInsteadOfFailing()
    {
        var faults = new StorageFaults();
        await using var app = await TestApp.StartAsync(services: s => s.AddSingleton(StorageFaults.Client(faults)));
        var first = await app.StartAsync("+14155550151");
        Assert.Equal(ChangeOutcome.Done, (await app.Verifications.CancelAsync(first.Id, app.Client, default)).Outcome);
        var usagePartition = $"usage-number-{(await app.Store.FindAsync(first.Id))!.PhoneIndex}";
        var usage = (await app.RowsAsync()).Single(r => r.PartitionKey == usagePartition);

        // The purge deletes the idle row between the next start's read of it and its write under the row's ETag.
        var purged = 0;
        faults.BeforeConditionalWrite = request => request.Contains(usage.PartitionKey, StringComparison.Ordinal) && Interlocked.Exchange(ref purged, 1) == 0
            ? () => app.Table.DeleteEntityAsync(usage.PartitionKey, usage.RowKey, Azure.ETag.All)
            : null;

        var second = await app.TryStartAsync("+14155550151");

        Assert.Equal(1, purged);
        Assert.Equal(StartOutcome.Started, second.Outcome);
        Assert.Contains(await app.RowsAsync(), r => r.PartitionKey == usage.PartitionKey && r.GetString("Holder") == second.Verification!.Id);
    }

    [Fact]
    public async Task APurgeThatRunsOutOfTime_StopsBetweenRows_AndTheNextRunGoesOnWhereItStopped()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var faults = new StorageFaults();
        await using var app = await TestApp.StartAsync(time: clock, services: s => s.AddSingleton(StorageFaults.Client(faults)));
        var ended = new List<string>();
        foreach (var number in new[] { "+4915112345681", "+4915112345682", "+4915112345683" })
        {
            var (started, _) = await app.StartAndAwaitWhatsAppAsync(number);
            Assert.Equal(ChangeOutcome.Done, (await app.Verifications.CancelAsync(started.Id, app.Client, default)).Outcome);
            await app.WaitForCompletionAsync(started.Id);
            ended.Add(started.Id);
        }

        clock.Advance(TimeSpan.FromDays(31));
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<RetentionOptions>>().Value;
        options.MaxRunTime = TimeSpan.FromMinutes(2);

        // Every verification row it deletes takes 70 s of the clock: the verifications' half of the time is up after one.
        faults.BeforeConditionalWrite = request => ended.Any(id => request.Contains($"PartitionKey='{id}'", StringComparison.Ordinal))
            ? () =>
            {
                clock.Advance(TimeSpan.FromSeconds(70));
                return Task.CompletedTask;
            }
            : null;
        var retention = app.Services.GetRequiredService<RetentionService>();

        var first = await retention.PurgeAsync(app.Client, default);

        Assert.False(first.Complete);
        Assert.Equal(1, first.Verifications);
        var left = 0;
        foreach (var id in ended)
        {
            left += await app.Store.FindAsync(id) is null ? 0 : 1;
        }

        Assert.Equal(2, left);
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Message.Contains("Retention:MaxRunTime", StringComparison.Ordinal));

        faults.BeforeConditionalWrite = null;
        var second = await retention.PurgeAsync(app.Client, default);

        Assert.True(second.Complete);
        Assert.Equal(2, second.Verifications);
        foreach (var id in ended)
        {
            Assert.Null(await app.Store.FindAsync(id));
        }
    }

    [Fact]
    public async Task APurgeThatFinishes_AfterMoreThanHalfItsTime_IsComplete()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var faults = new StorageFaults();
        await using var app = await TestApp.StartAsync(time: clock, services: s => s.AddSingleton(StorageFaults.Client(faults)));
        var (started, _) = await app.StartAndAwaitWhatsAppAsync("+4915112345684");
        Assert.Equal(ChangeOutcome.Done, (await app.Verifications.CancelAsync(started.Id, app.Client, default)).Outcome);
        await app.WaitForCompletionAsync(started.Id);
        clock.Advance(TimeSpan.FromDays(31));
        app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<RetentionOptions>>().Value.MaxRunTime = TimeSpan.FromMinutes(2);
        faults.BeforeConditionalWrite = request => request.Contains($"PartitionKey='{started.Id}'", StringComparison.Ordinal)
            ? () =>
            {
                clock.Advance(TimeSpan.FromSeconds(70));
                return Task.CompletedTask;
            }
            : null;

        var result = await app.Services.GetRequiredService<RetentionService>().PurgeAsync(app.Client, default);

        Assert.Equal(1, result.Verifications);
        Assert.True(result.Complete);
        Assert.DoesNotContain(app.Logs.GetSnapshot(), r => r.Message.Contains("Retention:MaxRunTime", StringComparison.Ordinal));
    }
}
