using Azure;
using Azure.Data.Tables;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpFailover.Abuse;
using OtpFailover.Channels;
using OtpFailover.Codes;
using OtpFailover.Storage;
using OtpFailover.Verifications;

namespace OtpFailover.Retention;

/// <summary>What one purge deleted, by kind.</summary>
/// <param name="Complete">False when it stopped at <see cref="RetentionOptions.MaxRunTime"/>: the next run goes on.</param>
public sealed record RetentionResult(int Verifications, int MessageIndexes, int IdempotencyKeys, int UsageRows, int BudgetRows, int DurableInstances, bool Complete = true);

/// <summary>
/// Deletes what the service no longer needs: verifications that ended (or whose code expired) more than
/// <see cref="RetentionOptions.KeepEndedFor"/> ago, with their message-index rows and their durable instances (history
/// and instance rows); idempotency keys past their expiry; usage rows untouched for longer than their longest window;
/// SMS budget rows of past days. It reads the table a page at a time and deletes row by row under the row's ETag, so
/// it is restartable after a crash, safe to run twice at once, and never deletes a row that changed since it read it.
/// It stops between rows when <see cref="RetentionOptions.MaxRunTime"/> is up (the verifications may take half of it,
/// so every other kind gets its turn in a backlog); what it deleted is gone, so the next run goes on where it stopped.
/// </summary>
public sealed partial class RetentionService(
    AppTable table,
    IOptions<RetentionOptions> options,
    IOptions<AbuseOptions> abuse,
    IOptions<VerificationOptions> verification,
    TimeProvider time,
    ILogger<RetentionService> logger)
{
    private const int PageSize = 200;

    public async Task<RetentionResult> PurgeAsync(DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(durable);
        var now = time.GetUtcNow();
        var cutoff = now - options.Value.KeepEndedFor;
        var client = await table.GetAsync(cancellationToken);
        using var run = new RunTime(options.Value.MaxRunTime, time);
        using var verificationsRun = new RunTime(options.Value.MaxRunTime / 2, time);

        // Personal data first, within half the time. The other kinds take turns at going first (by the day), so a
        // backlog in one of them cannot keep the others from ever running.
        var (verifications, indexes, instances) = await PurgeVerificationsAsync(client, durable, cutoff, verificationsRun, cancellationToken);
        var (keys, usage, budget) = (0, 0, 0);
        var usageBefore = now - Max(Longest(abuse.Value), verification.Value.CodeLifetime) - TimeSpan.FromHours(1);
        var budgetBefore = SmsBudgetEntity.RowFor(now - TimeSpan.FromDays(1));
        Func<Task>[] steps =
        [
            async () => indexes += await PurgeOrphanIndexesAsync(client, cutoff, run, cancellationToken),

            // Each kind of row by its own partition range: verification rows have an ExpiresAt column too.
            async () => keys = await DeleteWhereAsync<IdempotencyEntity>(client, TableClient.CreateQueryFilter($"PartitionKey ge {"idem-"} and PartitionKey lt {"idem."} and ExpiresAt lt {now}"), run, cancellationToken),

            // A number's row names its verification in flight, so it is kept for at least a code's lifetime as well.
            async () => usage = await DeleteWhereAsync<UsageEntity>(client, TableClient.CreateQueryFilter($"RowKey eq {UsageEntity.UsageRowKey}"), run, cancellationToken, keep: async row =>
                LastUsed(row) >= usageBefore || (row.Holder is { } holder && await IsPendingAsync(client, holder, cancellationToken))),
            async () => budget = await DeleteWhereAsync<SmsBudgetEntity>(client, TableClient.CreateQueryFilter($"PartitionKey ge {"budget-sms-"} and PartitionKey lt {"budget-sms."} and RowKey lt {budgetBefore}"), run, cancellationToken),
            async () => instances += await PurgeFinishedInstancesAsync(durable, cutoff, run, cancellationToken),
        ];
        var first = now.DayOfYear % steps.Length;
        for (var i = 0; i < steps.Length && !run.StopHere(); i++)
        {
            await steps[(first + i) % steps.Length]();
        }

        var complete = !run.StoppedEarly && !verificationsRun.StoppedEarly;
        var result = new RetentionResult(verifications, indexes, keys, usage, budget, instances, complete);
        LogPurged(result.Verifications, result.MessageIndexes, result.IdempotencyKeys, result.UsageRows, result.BudgetRows, result.DurableInstances, cutoff);
        if (!complete)
        {
            LogOutOfTime(options.Value.MaxRunTime);
        }

        return result;
    }

    /// <summary>The catch-all: every finished instance created before the cutoff, within the run's time.</summary>
    private static async Task<int> PurgeFinishedInstancesAsync(DurableTaskClient durable, DateTimeOffset cutoff, RunTime run, CancellationToken cancellationToken)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(run.Token, cancellationToken);
        try
        {
            var purged = await durable.PurgeAllInstancesAsync(
                new PurgeInstancesFilter(DateTimeOffset.MinValue, cutoff, [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated]),
                both.Token);
            return purged.PurgedInstanceCount;
        }
        catch (OperationCanceledException) when (run.StopHere() && !cancellationToken.IsCancellationRequested)
        {
            return 0;
        }
    }

    /// <summary>
    /// How long a run (or a step) may take. <see cref="StopHere"/> is asked between rows and between pages (a page can
    /// come back empty after a long scan), and remembers that the run stopped before it was done.
    /// </summary>
    private sealed class RunTime(TimeSpan limit, TimeProvider time) : IDisposable
    {
        private readonly CancellationTokenSource _timer = new(limit, time);

        public CancellationToken Token => _timer.Token;

        public bool StoppedEarly { get; private set; }

        public bool StopHere()
        {
            if (_timer.IsCancellationRequested)
            {
                StoppedEarly = true;
            }

            return StoppedEarly;
        }

        public void Dispose() => _timer.Dispose();
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static TimeSpan Longest(AbuseOptions abuse) =>
        new[] { abuse.StartsPerNumber, abuse.StartsPerNumberDaily, abuse.SmsPerNumber, abuse.FailedChecksPerNumber, abuse.StartsPerClient }
            .Where(r => r.IsOn).Select(r => r.Window).DefaultIfEmpty(TimeSpan.Zero).Max();

    private static async Task<bool> IsPendingAsync(TableClient client, string verificationId, CancellationToken cancellationToken)
    {
        var row = await client.GetEntityIfExistsAsync<VerificationEntity>(verificationId, VerificationEntity.VerificationRowKey, cancellationToken: cancellationToken);
        return row.HasValue && row.Value!.IsPending;
    }

    /// <summary>
    /// Index rows whose verification is gone (a send retried under a new message id, or an index written late, after
    /// its verification was purged): nothing can reach them, and they hold a provider's message id.
    /// </summary>
    private static Task<int> PurgeOrphanIndexesAsync(TableClient client, DateTimeOffset cutoff, RunTime run, CancellationToken cancellationToken) =>
        DeleteWhereAsync<MessageIndexEntity>(client, TableClient.CreateQueryFilter($"PartitionKey ge {"msg-"} and PartitionKey lt {"msg."} and Timestamp lt {cutoff}"), run, cancellationToken, keep: async index =>
            (await client.GetEntityIfExistsAsync<VerificationEntity>(index.VerificationId, VerificationEntity.VerificationRowKey, select: ["PartitionKey"], cancellationToken: cancellationToken)).HasValue);

    private static async Task<(int Verifications, int Indexes, int Instances)> PurgeVerificationsAsync(TableClient client, DurableTaskClient durable, DateTimeOffset cutoff, RunTime run, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"RowKey eq {VerificationEntity.VerificationRowKey} and (EndedAt lt {cutoff} or ExpiresAt lt {cutoff})");
        var (verifications, indexes, instances) = (0, 0, 0);
        await foreach (var page in client.QueryAsync<VerificationEntity>(filter, PageSize, cancellationToken: cancellationToken).AsPages())
        {
            // Asked per page too: a scan can come back with an empty page after a long time.
            if (run.StopHere())
            {
                break;
            }

            foreach (var entity in page.Values)
            {
                if (run.StopHere())
                {
                    return (verifications, indexes, instances);
                }

                if (entity.CallbackUrl is not null && await durable.GetInstanceAsync(Workflows.CallbackInstanceIdFor(entity.Id), cancellation: cancellationToken) is { IsCompleted: false })
                {
                    // Its callbacks are still being delivered (a receiver down for a while): the row is their outbox.
                    continue;
                }

                // Its index rows first: a crash in between leaves the row, and the next run finds them again.
                foreach (var (channel, messageId) in entity.ReadSends().Select(send => (send.Channel, send.MessageId)))
                {
                    if (ProviderMessageKeys.IsKey(messageId))
                    {
                        indexes += await DeleteIndexAsync(client, channel, messageId, entity.Id, cancellationToken);
                    }
                }

                verifications += await DeleteAsync(client, entity.PartitionKey, entity.RowKey, entity.ETag, cancellationToken);

                // Its durable instance with it (a finished one; the range purge below catches any the engine finishes later).
                instances += (await durable.PurgeInstanceAsync(entity.Id, cancellation: cancellationToken)).PurgedInstanceCount;
                if (entity.CallbackUrl is not null)
                {
                    // Its callback delivery too (it has finished: a running one kept the row above).
                    instances += (await durable.PurgeInstanceAsync(Workflows.CallbackInstanceIdFor(entity.Id), cancellation: cancellationToken)).PurgedInstanceCount;
                }
            }
        }

        return (verifications, indexes, instances);
    }

    private static async Task<int> DeleteIndexAsync(TableClient client, Channel channel, string messageId, string verificationId, CancellationToken cancellationToken)
    {
        var index = await client.GetEntityIfExistsAsync<MessageIndexEntity>(MessageIndexEntity.PartitionFor(channel, messageId), MessageIndexEntity.IndexRowKey, cancellationToken: cancellationToken);
        return index.HasValue && index.Value!.VerificationId == verificationId
            ? await DeleteAsync(client, index.Value.PartitionKey, index.Value.RowKey, index.Value.ETag, cancellationToken)
            : 0;
    }

    /// <summary>The newest event a usage row recorded (the app's clock), or its last write when it holds none.</summary>
    private static DateTimeOffset LastUsed(UsageEntity row) =>
        new[] { UsageLog.Parse(row.Starts).Newest, UsageLog.Parse(row.Sms).Newest, UsageLog.Parse(row.FailedChecks).Newest, UsageLog.Parse(row.Emails).Newest, row.Timestamp }
            .Where(t => t is not null).Select(t => t!.Value).DefaultIfEmpty(DateTimeOffset.MinValue).Max();

    /// <summary>Deletes the rows <paramref name="filter"/> finds, a page at a time, but for those <paramref name="keep"/> keeps.</summary>
    private static async Task<int> DeleteWhereAsync<T>(TableClient client, string filter, RunTime run, CancellationToken cancellationToken, Func<T, Task<bool>>? keep = null)
        where T : class, ITableEntity
    {
        var deleted = 0;
        await foreach (var page in client.QueryAsync<T>(filter, PageSize, cancellationToken: cancellationToken).AsPages())
        {
            // Asked per page too: a scan can come back with an empty page after a long time.
            if (run.StopHere())
            {
                break;
            }

            foreach (var entity in page.Values)
            {
                if (run.StopHere())
                {
                    return deleted;
                }

                if (keep is not null && await keep(entity))
                {
                    continue;
                }

                deleted += await DeleteAsync(client, entity.PartitionKey, entity.RowKey, entity.ETag, cancellationToken);
            }
        }

        return deleted;
    }

    /// <summary>Deletes a row if it is still as it was read: 1 when it did, 0 when it changed or is gone (another run).</summary>
    private static async Task<int> DeleteAsync(TableClient client, string partitionKey, string rowKey, ETag etag, CancellationToken cancellationToken)
    {
        try
        {
            var response = await client.DeleteEntityAsync(partitionKey, rowKey, etag, cancellationToken);
            return response.Status == 404 ? 0 : 1;
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return 0;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention stopped at Retention:MaxRunTime ({MaxRunTime}); the next run goes on where it stopped (a backlog: run it more often for a while)")]
    private partial void LogOutOfTime(TimeSpan maxRunTime);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention purged {Verifications} verifications, {MessageIndexes} message indexes, {IdempotencyKeys} idempotency keys, {UsageRows} usage rows, {BudgetRows} SMS budget rows and {DurableInstances} durable instances that ended before {Cutoff:o}")]
    private partial void LogPurged(int verifications, int messageIndexes, int idempotencyKeys, int usageRows, int budgetRows, int durableInstances, DateTimeOffset cutoff);
}
