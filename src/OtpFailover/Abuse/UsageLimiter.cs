using System.Net;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpFailover.Storage;

namespace OtpFailover.Abuse;

/// <summary>
/// The rate limits, counted in Table Storage so they hold across scaled-out instances. A decision and its record are
/// one write under the row's ETag, retried on a conflict, so 20 racing requests against a limit of 5 admit exactly 5.
/// A refusal writes nothing. Where a request needs several rows (a number and its client keys) every row is judged
/// before any is written, and what was recorded before a late refusal (a race) is taken back.
/// </summary>
public sealed partial class UsageLimiter(AppTable table, IOptions<AbuseOptions> options, TimeProvider time, ILogger<UsageLimiter> logger)
{
    private const int MaxConflictRetries = 100;
    private const string Section = AbuseOptions.SectionName;

    private AbuseOptions Settings => options.Value;

    /// <summary>
    /// Judges a start against every limit (the number's wrong-code budget, its starts in the short and the long window,
    /// and the starts of every client the caller named: its IP address and its key are both counted) and prepares its
    /// record, without writing anything. The record also makes the start the number's verification in flight.
    /// </summary>
    public async Task<StartPlan> PlanStartAsync(string phoneIndex, IReadOnlyList<string> clientIndexes, string startId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clientIndexes);
        var settings = Settings;
        var failedChecks = Limit.Of(nameof(AbuseOptions.FailedChecksPerNumber), settings.FailedChecksPerNumber, LimitKind.FailedChecksPerNumber);
        var number = new Subject(
            UsageEntity.NumberPartition(phoneIndex),
            [Limit.Of(nameof(AbuseOptions.StartsPerNumber), settings.StartsPerNumber, LimitKind.StartsPerNumber), Limit.Of(nameof(AbuseOptions.StartsPerNumberDaily), settings.StartsPerNumberDaily, LimitKind.StartsPerNumber)],
            (usage, now) => UsageLog.Parse(usage.FailedChecks).WaitBeforeNext(failedChecks.Rule, now) is { } lockedOut ? failedChecks.Refuse(lockedOut) : null);
        var clients = settings.StartsPerClient.IsOn
            ? clientIndexes.Distinct(StringComparer.Ordinal).Select(index => new Subject(UsageEntity.ClientPartition(index), [Limit.Of(nameof(AbuseOptions.StartsPerClient), settings.StartsPerClient, LimitKind.StartsPerClient)])).ToList()
            : [];

        var rows = await Task.WhenAll(clients.Append(number).Select(s => FindAsync<UsageEntity>(s.Partition, UsageEntity.UsageRowKey, cancellationToken)));
        var now = time.GetUtcNow();
        var writes = new List<PlannedWrite>();
        for (var i = 0; i < clients.Count; i++)
        {
            var row = rows[i] ?? new UsageEntity { PartitionKey = clients[i].Partition };
            var (write, decision) = Judge(row, UsageColumn.Starts, startId, clients[i], now);
            if (!decision.Allowed)
            {
                return StartPlan.Refused(decision);
            }

            if (write)
            {
                writes.Add(new PlannedWrite(row, rows[i] is null));
            }
        }

        var numberRow = rows[^1] ?? new UsageEntity { PartitionKey = number.Partition };
        var holder = numberRow.Holder;
        var (_, numberDecision) = Judge(numberRow, UsageColumn.Starts, startId, number, now);
        if (!numberDecision.Allowed)
        {
            return StartPlan.Refused(numberDecision);
        }

        var failed = UsageLog.Parse(numberRow.FailedChecks);
        if (failedChecks.Rule.IsOn)
        {
            failed.Prune(now, failedChecks.Rule.Window);
        }

        // The number's row is written last: it is the start's commit point.
        numberRow.Holder = startId;
        writes.Add(new PlannedWrite(numberRow, rows[^1] is null));
        return new StartPlan(LimitDecision.Allow, holder == startId ? null : holder, failedChecks.Rule.IsOn ? failed.Count : 0, startId, writes);
    }

    /// <summary>
    /// Writes a start's record, each row under the ETag it was judged by. False when a row changed in between (plan
    /// again); whatever stopped the writing half way takes back what was written.
    /// </summary>
    public async Task<bool> CommitStartAsync(StartPlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var client = await table.GetAsync(cancellationToken);
        var written = new List<string>();
        var complete = false;
        try
        {
            foreach (var (row, isNew) in plan.Writes)
            {
                written.Add(row.PartitionKey);
                await WriteAsync(client, row, isNew, cancellationToken);
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
                    await ForgetBestEffortAsync(partition, UsageColumn.Starts, plan.StartId);
                }
            }
        }
    }

    /// <summary>Takes back a recorded start that did not happen (its verification could not be stored or scheduled).</summary>
    public async Task ForgetStartAsync(string phoneIndex, IReadOnlyList<string> clientIndexes, string startId)
    {
        ArgumentNullException.ThrowIfNull(clientIndexes);
        await ForgetBestEffortAsync(UsageEntity.NumberPartition(phoneIndex), UsageColumn.Starts, startId);
        foreach (var index in clientIndexes.Distinct(StringComparer.Ordinal))
        {
            await ForgetBestEffortAsync(UsageEntity.ClientPartition(index), UsageColumn.Starts, startId);
        }
    }

    /// <summary>
    /// Records a wrong code in the number's budget, before it counts on its verification, so that a start that reads
    /// the number now already sees it. Refused when the budget is spent (a race the verification's own gate lost).
    /// </summary>
    public Task<LimitDecision> TryRecordFailedCheckAsync(string phoneIndex, string checkId, CancellationToken cancellationToken) =>
        TryAppendAsync(new Subject(UsageEntity.NumberPartition(phoneIndex), [Limit.Of(nameof(AbuseOptions.FailedChecksPerNumber), Settings.FailedChecksPerNumber, LimitKind.FailedChecksPerNumber)]), UsageColumn.FailedChecks, checkId, cancellationToken);

    /// <summary>
    /// Takes back a wrong code that did not count (its verification ended first). Best effort, and it never throws:
    /// one it cannot take back counts until its window passes.
    /// </summary>
    public Task ForgetFailedCheckAsync(string phoneIndex, string checkId) =>
        ForgetBestEffortAsync(UsageEntity.NumberPartition(phoneIndex), UsageColumn.FailedChecks, checkId);

    /// <summary>
    /// Whether the number's wrong-code budget has a place left now, counting the wrong codes recorded against it that
    /// have not reached their verification's row yet (nothing is recorded). A right code must pass this too: otherwise
    /// a burst of guesses would be judged by the row alone, which does not see the wrong codes still on their way.
    /// </summary>
    public async Task<LimitDecision> CheckFailedChecksAsync(string phoneIndex, CancellationToken cancellationToken)
    {
        var rule = Settings.FailedChecksPerNumber;
        if (!rule.IsOn)
        {
            return LimitDecision.Allow;
        }

        var usage = await FindAsync<UsageEntity>(UsageEntity.NumberPartition(phoneIndex), UsageEntity.UsageRowKey, cancellationToken);
        return UsageLog.Parse(usage?.FailedChecks).WaitBeforeNext(rule, time.GetUtcNow()) is { } wait
            ? LimitDecision.Refuse(LimitKind.FailedChecksPerNumber, $"{Section}:{nameof(AbuseOptions.FailedChecksPerNumber)}", wait)
            : LimitDecision.Allow;
    }

    /// <summary>The refusal of a number whose wrong-code budget is spent, with how long until a place frees.</summary>
    public async Task<LimitDecision> RefuseFailedChecksAsync(string phoneIndex, CancellationToken cancellationToken)
    {
        var rule = Settings.FailedChecksPerNumber;
        var usage = await FindAsync<UsageEntity>(UsageEntity.NumberPartition(phoneIndex), UsageEntity.UsageRowKey, cancellationToken);
        var wait = UsageLog.Parse(usage?.FailedChecks).WaitBeforeNext(rule, time.GetUtcNow()) ?? TimeSpan.FromSeconds(1);
        return LimitDecision.Refuse(LimitKind.FailedChecksPerNumber, $"{Section}:{nameof(AbuseOptions.FailedChecksPerNumber)}", wait);
    }

    /// <summary>Whether an SMS to the number would fit its limit and its region's budget now (nothing is recorded).</summary>
    public async Task<LimitDecision> CheckSmsAsync(string phoneIndex, string regionCode, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var rule = Settings.SmsPerNumber;
        if (rule.IsOn)
        {
            var usage = await FindAsync<UsageEntity>(UsageEntity.NumberPartition(phoneIndex), UsageEntity.UsageRowKey, cancellationToken);
            if (UsageLog.Parse(usage?.Sms).WaitBeforeNext(rule, now) is { } wait)
            {
                return LimitDecision.Refuse(LimitKind.SmsPerNumber, $"{Section}:{nameof(AbuseOptions.SmsPerNumber)}", wait);
            }
        }

        var cap = Settings.SmsBudgetFor(regionCode);
        var budget = cap <= 0 ? null : await FindAsync<SmsBudgetEntity>(SmsBudgetEntity.PartitionFor(regionCode), SmsBudgetEntity.RowFor(now), cancellationToken);
        return cap <= 0 || budget?.Count >= cap ? RefuseBudget(regionCode, now) : LimitDecision.Allow;
    }

    /// <summary>
    /// Records an SMS for a verification, if the number's SMS limit and its region's hourly budget allow it. The
    /// number's record is keyed by the verification, so a repeated call counts once; the region's counter is not
    /// (it can hold thousands), so a call repeated after a crash between the two may count the region twice.
    /// </summary>
    /// <param name="at">When the SMS is counted: the hour of the region's budget it is charged to (and given back to).</param>
    public async Task<LimitDecision> TryRecordSmsAsync(string phoneIndex, string regionCode, string verificationId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var numberPartition = UsageEntity.NumberPartition(phoneIndex);
        var number = await TryAppendAsync(new Subject(numberPartition, [Limit.Of(nameof(AbuseOptions.SmsPerNumber), Settings.SmsPerNumber, LimitKind.SmsPerNumber)]), UsageColumn.Sms, verificationId, cancellationToken);
        if (!number.Allowed)
        {
            return number;
        }

        var region = await TryTakeBudgetAsync(regionCode, at, cancellationToken);
        if (!region.Allowed)
        {
            await ForgetBestEffortAsync(numberPartition, UsageColumn.Sms, verificationId);
        }

        return region;
    }

    /// <summary>
    /// Gives back an SMS the provider refused (nothing was sent, so it costs neither the number nor the region):
    /// the number's record, and one from the budget of the hour it was counted in.
    /// </summary>
    public async Task ReleaseSmsAsync(string phoneIndex, string regionCode, string verificationId, DateTimeOffset countedAt, CancellationToken cancellationToken)
    {
        await ForgetBestEffortAsync(UsageEntity.NumberPartition(phoneIndex), UsageColumn.Sms, verificationId);
        if (Settings.SmsBudgetFor(regionCode) <= 0)
        {
            return;
        }

        var partition = SmsBudgetEntity.PartitionFor(regionCode);
        var row = SmsBudgetEntity.RowFor(countedAt);
        await UpdateAsync(partition, row, () => new SmsBudgetEntity { PartitionKey = partition, RowKey = row }, budget =>
        {
            if (budget.Count <= 0)
            {
                return (false, false);
            }

            budget.Count--;
            return (true, true);
        }, CancellationToken.None);
    }

    private async Task<LimitDecision> TryTakeBudgetAsync(string regionCode, DateTimeOffset hour, CancellationToken cancellationToken)
    {
        var cap = Settings.SmsBudgetFor(regionCode);
        if (cap <= 0)
        {
            return RefuseBudget(regionCode, hour); // no SMS there, by the operator's choice: nothing to alert about
        }

        var alert = false;
        var partition = SmsBudgetEntity.PartitionFor(regionCode);
        var row = SmsBudgetEntity.RowFor(hour);
        var decision = await UpdateAsync(partition, row, () => new SmsBudgetEntity { PartitionKey = partition, RowKey = row }, budget =>
        {
            alert = false;
            if (budget.Count < cap)
            {
                budget.Count++;
                return (true, LimitDecision.Allow);
            }

            // Over budget: the first refusal of the hour also marks the row, so the operator hears of it once.
            alert = !budget.Alerted;
            budget.Alerted = true;
            return (alert, RefuseBudget(regionCode, hour));
        }, cancellationToken);

        if (alert)
        {
            LogBudgetExceeded(regionCode, cap, row);
        }

        return decision;
    }

    private static LimitDecision RefuseBudget(string regionCode, DateTimeOffset now)
    {
        var hourStart = new DateTimeOffset(now.UtcDateTime.Year, now.UtcDateTime.Month, now.UtcDateTime.Day, now.UtcDateTime.Hour, 0, 0, TimeSpan.Zero);
        return LimitDecision.Refuse(LimitKind.SmsPerCountry, $"{Section}:{nameof(AbuseOptions.SmsPerCountryPerHourByCountry)}:{regionCode}", hourStart.AddHours(1) - now);
    }

    /// <summary>
    /// Whether one more event with <paramref name="id"/> fits the subject's log, and the log with it added. An id
    /// already in the log counts once: recording is idempotent.
    /// </summary>
    private static (bool Write, LimitDecision Decision) Judge(UsageEntity usage, UsageColumn column, string id, Subject subject, DateTimeOffset now)
    {
        if (subject.Gate?.Invoke(usage, now) is { } refused)
        {
            return (false, refused);
        }

        var log = UsageLog.Parse(column.Read(usage));
        if (log.Contains(id))
        {
            return (false, LimitDecision.Allow);
        }

        var on = subject.Limits.Where(l => l.Rule.IsOn).ToList();
        if (on.Count == 0)
        {
            return (false, LimitDecision.Allow);
        }

        log.Prune(now, on.Max(l => l.Rule.Window));
        foreach (var limit in on)
        {
            if (log.WaitBeforeNext(limit.Rule, now) is { } wait)
            {
                return (false, limit.Refuse(wait));
            }
        }

        log.Add(id, now);
        column.Write(usage, log.Serialize());
        return (true, LimitDecision.Allow);
    }

    private Task<LimitDecision> TryAppendAsync(Subject subject, UsageColumn column, string id, CancellationToken cancellationToken) =>
        UpdateAsync(subject.Partition, UsageEntity.UsageRowKey, () => new UsageEntity { PartitionKey = subject.Partition }, usage => Judge(usage, column, id, subject, time.GetUtcNow()), cancellationToken);

    /// <summary>Takes a record back if it can; a record it cannot take back only ages out of its window.</summary>
    private async Task ForgetBestEffortAsync(string partition, UsageColumn column, string id)
    {
        try
        {
            await ForgetAsync(partition, column, id, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogForgetFailed(ex, RowKind(partition), column);
        }
    }

    /// <summary>Removes an event from a log; finishes even when the caller gave up (it takes back a record).</summary>
    private async Task ForgetAsync(string partition, UsageColumn column, string id, CancellationToken cancellationToken)
    {
        await UpdateAsync<UsageEntity, bool>(partition, UsageEntity.UsageRowKey, () => new UsageEntity { PartitionKey = partition }, usage =>
        {
            var log = UsageLog.Parse(column.Read(usage));
            if (!log.Remove(id))
            {
                return (false, false);
            }

            column.Write(usage, log.Serialize());
            return (true, true);
        }, CancellationToken.None);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task<T?> FindAsync<T>(string partition, string row, CancellationToken cancellationToken)
        where T : class, ITableEntity
    {
        var client = await table.GetAsync(cancellationToken);
        var response = await client.GetEntityIfExistsAsync<T>(partition, row, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    private static async Task WriteAsync(TableClient client, ITableEntity entity, bool isNew, CancellationToken cancellationToken)
    {
        if (isNew)
        {
            await client.AddEntityAsync(entity, cancellationToken);
        }
        else
        {
            await client.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken);
        }
    }

    /// <summary>
    /// Reads (or makes) a row, applies <paramref name="change"/>, and writes it under its ETag; retried on a conflict.
    /// A row that carries an operation stamp is recognised when the write reached the table but its answer was lost
    /// (the client's own retry then meets 412): the change is not applied twice.
    /// </summary>
    private async Task<TResult> UpdateAsync<TEntity, TResult>(string partition, string row, Func<TEntity> create, Func<TEntity, (bool Write, TResult Result)> change, CancellationToken cancellationToken)
        where TEntity : class, ITableEntity
    {
        var client = await table.GetAsync(cancellationToken);
        var operation = OperationStamps.NewOperation();
        var written = default(TResult);
        var wrote = false;
        for (var attempt = 0; ; attempt++)
        {
            var existing = await FindAsync<TEntity>(partition, row, cancellationToken);
            if (wrote && existing is IOperationStamped stampedBefore && stampedBefore.WasWrittenBy(operation))
            {
                return written!;
            }

            var entity = existing ?? create();
            var (write, result) = change(entity);
            if (!write)
            {
                return result;
            }

            (entity as IOperationStamped)?.Stamp(operation);

            try
            {
                (written, wrote) = (result, true);
                await WriteAsync(client, entity, existing is null, cancellationToken);
                return result;
            }
            catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.Conflict or (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound && attempt < MaxConflictRetries)
            {
                // 404: the purge took an idle row away since it was read; the next read makes it afresh.
                await ConflictBackoff.DelayAsync(attempt, cancellationToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A usage record in {UsageRow} ({Column}) could not be taken back; it counts until its window passes")]
    private partial void LogForgetFailed(Exception exception, string usageRow, UsageColumn column);

    /// <summary>
    /// Which kind of row a partition is, for logs: a number's and a client's partitions carry a keyed hash that links
    /// one person's verifications, so logs name the kind, never the partition.
    /// </summary>
    private static string RowKind(string partition) =>
        partition.StartsWith(UsageEntity.NumberPartition(string.Empty), StringComparison.Ordinal) ? "the number's usage row"
        : partition.StartsWith(UsageEntity.ClientPartition(string.Empty), StringComparison.Ordinal) ? "a client's usage row"
        : "a usage row";

    [LoggerMessage(Level = LogLevel.Error, Message = "The hourly SMS budget for {RegionCode} ({Cap}) is spent for hour {Hour} UTC: verifications that need an SMS there now end failed (sms_budget_exceeded). If this is real traffic, raise Abuse:SmsPerCountryPerHourByCountry:{RegionCode}; if not, it may be SMS pumping")]
    private partial void LogBudgetExceeded(string regionCode, int cap, string hour);

    /// <summary>One row's limits: its partition, the rules on its log, and a gate judged before them.</summary>
    private sealed record Subject(string Partition, Limit[] Limits, Func<UsageEntity, DateTimeOffset, LimitDecision?>? Gate = null);

    /// <summary>One sliding-window rule, with the refusal it gives.</summary>
    private sealed record Limit(RateLimitRule Rule, LimitKind Kind, string Setting)
    {
        public static Limit Of(string name, RateLimitRule rule, LimitKind kind) => new(rule, kind, $"{Section}:{name}");

        public LimitDecision Refuse(TimeSpan wait) => LimitDecision.Refuse(Kind, Setting, wait);
    }
}

/// <summary>The three logs of a <see cref="UsageEntity"/>.</summary>
internal enum UsageColumn
{
    Starts,
    Sms,
    FailedChecks,
}

internal static class UsageColumns
{
    public static string Read(this UsageColumn column, UsageEntity usage) => column switch
    {
        UsageColumn.Sms => usage.Sms,
        UsageColumn.FailedChecks => usage.FailedChecks,
        _ => usage.Starts,
    };

    public static void Write(this UsageColumn column, UsageEntity usage, string log)
    {
        switch (column)
        {
            case UsageColumn.Sms:
                usage.Sms = log;
                break;
            case UsageColumn.FailedChecks:
                usage.FailedChecks = log;
                break;
            default:
                usage.Starts = log;
                break;
        }
    }
}

/// <summary>
/// A start judged and ready to record: the decision, the verification the number had in flight (to supersede), the
/// number's wrong codes so far (the new verification's share of the budget), and the rows to write.
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
