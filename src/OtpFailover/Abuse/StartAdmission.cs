using System.Net;
using Azure;
using Microsoft.Extensions.Options;
using OtpFailover.Storage;

namespace OtpFailover.Abuse;

/// <summary>
/// Whether a start may happen: the number's wrong-code budget, its starts in the short and the long window, and the
/// starts of every client the caller named (its IP address and its key are both counted). A start needs several rows
/// (the number's and its clients'): every row is judged before any is written, and what was recorded before a late
/// refusal (a race) is taken back. The number's row, written last, is the start's commit point, and records the start
/// as the number's latest (<see cref="UsageEntity.Holder"/>).
/// </summary>
public sealed class StartAdmission(UsageRows rows, IOptions<AbuseOptions> options)
{
    /// <summary>Judges a start against every limit and prepares its record, without writing anything.</summary>
    public async Task<StartPlan> PlanStartAsync(string phoneIndex, IReadOnlyList<string> clientIndexes, string startId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clientIndexes);
        var settings = options.Value;
        var failedChecks = UsageLimit.Of(nameof(AbuseOptions.FailedChecksPerNumber), settings.FailedChecksPerNumber, LimitKind.FailedChecksPerNumber);
        var number = new UsageSubject(
            UsageEntity.NumberPartition(phoneIndex),
            [UsageLimit.Of(nameof(AbuseOptions.StartsPerNumber), settings.StartsPerNumber, LimitKind.StartsPerNumber), UsageLimit.Of(nameof(AbuseOptions.StartsPerNumberDaily), settings.StartsPerNumberDaily, LimitKind.StartsPerNumber)],
            (usage, now) => UsageLog.Parse(usage.FailedChecks).WaitBeforeNext(failedChecks.Rule, now) is { } lockedOut ? failedChecks.Refuse(lockedOut) : null);
        var clients = settings.StartsPerClient.IsOn
            ? clientIndexes.Distinct(StringComparer.Ordinal).Select(index => new UsageSubject(UsageEntity.ClientPartition(index), [UsageLimit.Of(nameof(AbuseOptions.StartsPerClient), settings.StartsPerClient, LimitKind.StartsPerClient)])).ToList()
            : [];

        var found = await Task.WhenAll(clients.Append(number).Select(s => rows.FindAsync<UsageEntity>(s.Partition, UsageEntity.UsageRowKey, cancellationToken)));
        var now = rows.Time.GetUtcNow();
        var writes = new List<PlannedWrite>();
        for (var i = 0; i < clients.Count; i++)
        {
            var row = found[i] ?? new UsageEntity { PartitionKey = clients[i].Partition };
            var (write, decision) = UsageRows.Judge(row, UsageColumn.Starts, startId, clients[i], now);
            if (!decision.Allowed)
            {
                return StartPlan.Refused(decision);
            }

            if (write)
            {
                writes.Add(new PlannedWrite(row, found[i] is null));
            }
        }

        var numberRow = found[^1] ?? new UsageEntity { PartitionKey = number.Partition };
        var holder = numberRow.Holder;
        var (_, numberDecision) = UsageRows.Judge(numberRow, UsageColumn.Starts, startId, number, now);
        if (!numberDecision.Allowed)
        {
            return StartPlan.Refused(numberDecision);
        }

        var failed = UsageLog.Parse(numberRow.FailedChecks);
        if (failedChecks.Rule.IsOn)
        {
            failed.Prune(now, failedChecks.Rule.Window);
        }

        // The number's row is written last: it is the start's commit point. Holder is what keeps one verification per
        // number pending (Verifications/OnePendingPerNumber supersedes the one it names; ConcurrencyTests race it).
        numberRow.Holder = startId;
        writes.Add(new PlannedWrite(numberRow, found[^1] is null));
        return new StartPlan(LimitDecision.Allow, holder == startId ? null : holder, failedChecks.Rule.IsOn ? failed.Count : 0, startId, writes);
    }

    /// <summary>
    /// Writes a start's record, each row under the ETag it was judged by. False when a row changed in between (plan
    /// again); whatever stopped the writing half way takes back what was written.
    /// </summary>
    public async Task<bool> CommitStartAsync(StartPlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var client = await rows.ClientAsync(cancellationToken);
        var written = new List<string>();
        var complete = false;
        try
        {
            foreach (var (row, isNew) in plan.Writes)
            {
                written.Add(row.PartitionKey);
                await TableRows.WriteAsync(client, row, isNew, cancellationToken);
            }

            complete = true;
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.Conflict or (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound)
        {
            // Another writer got there first, or the purge took an idle row away since it was read (404): plan again.
            return false;
        }
        finally
        {
            if (!complete)
            {
                foreach (var partition in written)
                {
                    await rows.ForgetBestEffortAsync(partition, UsageColumn.Starts, plan.StartId);
                }
            }
        }
    }

    /// <summary>Takes back a recorded start that did not happen (its verification could not be stored or scheduled).</summary>
    public async Task ForgetStartAsync(string phoneIndex, IReadOnlyList<string> clientIndexes, string startId)
    {
        ArgumentNullException.ThrowIfNull(clientIndexes);
        await rows.ForgetBestEffortAsync(UsageEntity.NumberPartition(phoneIndex), UsageColumn.Starts, startId);
        foreach (var index in clientIndexes.Distinct(StringComparer.Ordinal))
        {
            await rows.ForgetBestEffortAsync(UsageEntity.ClientPartition(index), UsageColumn.Starts, startId);
        }
    }
}

/// <summary>
/// A start judged and ready to record: the decision, the number's latest start before it (which the caller supersedes),
/// the number's wrong codes so far (the new verification's share of the budget), and the rows to write.
/// </summary>
public sealed class StartPlan
{
    internal StartPlan(LimitDecision decision, string? previousHolder, int failedChecksBefore, string startId, IReadOnlyList<PlannedWrite> writes)
    {
        Decision = decision;
        PreviousHolder = previousHolder;
        FailedChecksBefore = failedChecksBefore;
        StartId = startId;
        Writes = writes;
    }

    public LimitDecision Decision { get; }

    /// <summary>The number's latest verification before this start (it may have ended already).</summary>
    public string? PreviousHolder { get; }

    public int FailedChecksBefore { get; }

    internal string StartId { get; }

    internal IReadOnlyList<PlannedWrite> Writes { get; }

    internal static StartPlan Refused(LimitDecision decision) => new(decision, null, 0, string.Empty, []);
}

internal sealed record PlannedWrite(UsageEntity Row, bool IsNew);
