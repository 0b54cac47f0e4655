using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using OtpFailover.Storage;

namespace OtpFailover.Abuse;

/// <summary>
/// The usage rows the limits are counted in, in Table Storage so they hold across scaled-out instances. A decision and
/// its record are one write under the row's ETag (<see cref="TableRows.UpdateAsync"/>), so 20 racing requests against
/// a limit of 5 admit exactly 5. A refusal writes nothing.
/// </summary>
public sealed partial class UsageRows(AppTable table, TimeProvider time, ILogger<UsageRows> logger)
{
    internal const string Section = AbuseOptions.SectionName;

    internal TimeProvider Time => time;

    internal ValueTask<TableClient> ClientAsync(CancellationToken cancellationToken) => table.GetAsync(cancellationToken);

    internal async Task<T?> FindAsync<T>(string partition, string row, CancellationToken cancellationToken)
        where T : class, ITableEntity =>
        await TableRows.FindAsync<T>(await table.GetAsync(cancellationToken), partition, row, cancellationToken);

    /// <summary>Reads (or makes) a row, applies <paramref name="change"/>, and writes it under its ETag; retried on a conflict.</summary>
    internal async Task<TResult> UpdateAsync<TEntity, TResult>(string partition, string row, Func<TEntity> create, Func<TEntity, (bool Write, TResult Result)> change, CancellationToken cancellationToken)
        where TEntity : class, ITableEntity
    {
        var client = await table.GetAsync(cancellationToken);
        var update = await TableRows.UpdateAsync(client, partition, row, change, create, cancellationToken: cancellationToken);
        return update!.Value.Result;
    }

    /// <summary>Whether one more event fits <paramref name="limit"/> in the row's log now (nothing is recorded); a limit that is off always fits.</summary>
    internal async Task<LimitDecision> CheckAsync(string partition, UsageColumn column, UsageLimit limit, CancellationToken cancellationToken)
    {
        if (!limit.Rule.IsOn)
        {
            return LimitDecision.Allow;
        }

        var usage = await FindAsync<UsageEntity>(partition, UsageEntity.UsageRowKey, cancellationToken);
        return UsageLog.Parse(usage is null ? null : column.Read(usage)).WaitBeforeNext(limit.Rule, time.GetUtcNow()) is { } wait
            ? limit.Refuse(wait)
            : LimitDecision.Allow;
    }

    /// <summary>Records one event with <paramref name="id"/> in the subject's log if its limits allow it (an id already there counts once).</summary>
    internal Task<LimitDecision> TryAppendAsync(UsageSubject subject, UsageColumn column, string id, CancellationToken cancellationToken) =>
        UpdateAsync(subject.Partition, UsageEntity.UsageRowKey, () => new UsageEntity { PartitionKey = subject.Partition }, usage => Judge(usage, column, id, subject, time.GetUtcNow()), cancellationToken);

    /// <summary>
    /// Whether one more event with <paramref name="id"/> fits the subject's log, and the log with it added. An id
    /// already in the log counts once: recording is idempotent.
    /// </summary>
    internal static (bool Write, LimitDecision Decision) Judge(UsageEntity usage, UsageColumn column, string id, UsageSubject subject, DateTimeOffset now)
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

    /// <summary>Takes a record back if it can; a record it cannot take back only ages out of its window. Never throws.</summary>
    internal async Task ForgetBestEffortAsync(string partition, UsageColumn column, string id)
    {
        try
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
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogForgetFailed(ex, RowKind(partition), column);
        }
    }

    /// <summary>
    /// Which kind of row a partition is, for logs: a number's and a client's partitions carry a keyed hash that links
    /// one person's verifications, so logs name the kind, never the partition.
    /// </summary>
    private static string RowKind(string partition) =>
        partition.StartsWith(UsageEntity.NumberPartition(string.Empty), StringComparison.Ordinal) ? "the number's usage row"
        : partition.StartsWith(UsageEntity.ClientPartition(string.Empty), StringComparison.Ordinal) ? "a client's usage row"
        : partition.StartsWith(UsageEntity.EmailPartition(string.Empty), StringComparison.Ordinal) ? "an address's usage row"
        : "a usage row";

    [LoggerMessage(Level = LogLevel.Warning, Message = "A usage record in {UsageRow} ({Column}) could not be taken back; it counts until its window passes")]
    private partial void LogForgetFailed(Exception exception, string usageRow, UsageColumn column);
}

/// <summary>One row's limits: its partition, the rules on its log, and a gate judged before them.</summary>
internal sealed record UsageSubject(string Partition, UsageLimit[] Limits, Func<UsageEntity, DateTimeOffset, LimitDecision?>? Gate = null);

/// <summary>One sliding-window rule, with the refusal it gives.</summary>
internal sealed record UsageLimit(RateLimitRule Rule, LimitKind Kind, string Setting)
{
    public static UsageLimit Of(string name, RateLimitRule rule, LimitKind kind) => new(rule, kind, $"{UsageRows.Section}:{name}");

    public LimitDecision Refuse(TimeSpan wait) => LimitDecision.Refuse(Kind, Setting, wait);
}

/// <summary>The logs of a <see cref="UsageEntity"/>.</summary>
internal enum UsageColumn
{
    Starts,
    Sms,
    FailedChecks,
    Emails,
}

internal static class UsageColumns
{
    public static string Read(this UsageColumn column, UsageEntity usage) => column switch
    {
        UsageColumn.Sms => usage.Sms,
        UsageColumn.FailedChecks => usage.FailedChecks,
        UsageColumn.Emails => usage.Emails,
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
            case UsageColumn.Emails:
                usage.Emails = log;
                break;
            default:
                usage.Starts = log;
                break;
        }
    }
}
