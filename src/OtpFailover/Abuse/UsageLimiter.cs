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
/// A refusal writes nothing; where a request needs two rows (a number and a client key), the first row's record is
/// taken back when the second refuses.
/// </summary>
public sealed partial class UsageLimiter(AppTable table, IOptions<AbuseOptions> options, TimeProvider time, ILogger<UsageLimiter> logger)
{
    private const int MaxConflictRetries = 100;
    private const string Section = AbuseOptions.SectionName;

    private AbuseOptions Settings => options.Value;

    /// <summary>
    /// Records a start for a number (and a client key, when given) if every limit allows it: the number's wrong-code
    /// budget, its starts in the short and the long window, and the client key's starts.
    /// </summary>
    public async Task<LimitDecision> TryRecordStartAsync(string phoneIndex, string? clientIndex, string startId, CancellationToken cancellationToken)
    {
        var settings = Settings;
        var numberPartition = UsageEntity.NumberPartition(phoneIndex);
        var failedChecks = Limit.Of(nameof(AbuseOptions.FailedChecksPerNumber), settings.FailedChecksPerNumber, LimitKind.FailedChecksPerNumber);
        var decision = await TryAppendAsync(
            numberPartition,
            UsageColumn.Starts,
            startId,
            [Limit.Of(nameof(AbuseOptions.StartsPerNumber), settings.StartsPerNumber, LimitKind.StartsPerNumber), Limit.Of(nameof(AbuseOptions.StartsPerNumberDaily), settings.StartsPerNumberDaily, LimitKind.StartsPerNumber)],
            cancellationToken,
            gate: (usage, now) => UsageLog.Parse(usage.FailedChecks).WaitBeforeNext(failedChecks.Rule, now) is { } lockedOut ? failedChecks.Refuse(lockedOut) : null);

        if (!decision.Allowed || clientIndex is null || !settings.StartsPerClient.IsOn)
        {
            return decision;
        }

        var client = await TryAppendAsync(UsageEntity.ClientPartition(clientIndex), UsageColumn.Starts, startId, [Limit.Of(nameof(AbuseOptions.StartsPerClient), settings.StartsPerClient, LimitKind.StartsPerClient)], cancellationToken);
        if (!client.Allowed)
        {
            await ForgetAsync(numberPartition, UsageColumn.Starts, startId, cancellationToken);
        }

        return client;
    }

    /// <summary>Whether the number may be checked at all: its wrong codes across all its verifications are under the limit.</summary>
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

    /// <summary>Records a wrong code for the number, if its budget of wrong codes has room.</summary>
    public Task<LimitDecision> TryRecordFailedCheckAsync(string phoneIndex, string checkId, CancellationToken cancellationToken) =>
        TryAppendAsync(UsageEntity.NumberPartition(phoneIndex), UsageColumn.FailedChecks, checkId, [Limit.Of(nameof(AbuseOptions.FailedChecksPerNumber), Settings.FailedChecksPerNumber, LimitKind.FailedChecksPerNumber)], cancellationToken);

    /// <summary>Takes back a wrong code recorded for a check that then found its verification ended.</summary>
    public Task ForgetFailedCheckAsync(string phoneIndex, string checkId, CancellationToken cancellationToken) =>
        ForgetAsync(UsageEntity.NumberPartition(phoneIndex), UsageColumn.FailedChecks, checkId, cancellationToken);

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
        if (cap > 0)
        {
            var budget = await FindAsync<SmsBudgetEntity>(SmsBudgetEntity.PartitionFor(regionCode), SmsBudgetEntity.RowFor(now), cancellationToken);
            if (budget is not null && budget.Count >= cap)
            {
                return RefuseBudget(regionCode, now);
            }
        }

        return LimitDecision.Allow;
    }

    /// <summary>
    /// Records an SMS for a verification, if the number's SMS limit and its region's hourly budget allow it. The
    /// number's record is keyed by the verification, so a repeated call counts once; the region's counter is not
    /// (it can hold thousands), so a call repeated after a crash between the two may count the region twice.
    /// </summary>
    public async Task<LimitDecision> TryRecordSmsAsync(string phoneIndex, string regionCode, string verificationId, CancellationToken cancellationToken)
    {
        var numberPartition = UsageEntity.NumberPartition(phoneIndex);
        var number = await TryAppendAsync(numberPartition, UsageColumn.Sms, verificationId, [Limit.Of(nameof(AbuseOptions.SmsPerNumber), Settings.SmsPerNumber, LimitKind.SmsPerNumber)], cancellationToken);

        if (!number.Allowed)
        {
            return number;
        }

        var region = await TryTakeBudgetAsync(regionCode, cancellationToken);
        if (!region.Allowed)
        {
            await ForgetAsync(numberPartition, UsageColumn.Sms, verificationId, cancellationToken);
        }

        return region;
    }

    private async Task<LimitDecision> TryTakeBudgetAsync(string regionCode, CancellationToken cancellationToken)
    {
        var cap = Settings.SmsBudgetFor(regionCode);
        if (cap <= 0)
        {
            return LimitDecision.Allow;
        }

        var hour = time.GetUtcNow();
        var alert = false;
        var decision = await UpdateAsync(
            SmsBudgetEntity.PartitionFor(regionCode),
            SmsBudgetEntity.RowFor(hour),
            () => new SmsBudgetEntity { PartitionKey = SmsBudgetEntity.PartitionFor(regionCode), RowKey = SmsBudgetEntity.RowFor(hour) },
            budget =>
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
            },
            cancellationToken);

        if (alert)
        {
            LogBudgetExceeded(regionCode, cap, SmsBudgetEntity.RowFor(hour));
        }

        return decision;
    }

    private static LimitDecision RefuseBudget(string regionCode, DateTimeOffset now)
    {
        var hourStart = new DateTimeOffset(now.UtcDateTime.Year, now.UtcDateTime.Month, now.UtcDateTime.Day, now.UtcDateTime.Hour, 0, 0, TimeSpan.Zero);
        return LimitDecision.Refuse(LimitKind.SmsPerCountry, $"{Section}:{nameof(AbuseOptions.SmsPerCountryPerHourByCountry)}:{regionCode}", hourStart.AddHours(1) - now);
    }

    /// <summary>
    /// Appends <paramref name="id"/> to one log of a usage row if every limit (and the gate) allows one more event.
    /// An id already in the log counts once: the call is idempotent.
    /// </summary>
    private Task<LimitDecision> TryAppendAsync(string partition, UsageColumn column, string id, Limit[] limits, CancellationToken cancellationToken, Func<UsageEntity, DateTimeOffset, LimitDecision?>? gate = null) =>
        UpdateAsync(partition, UsageEntity.UsageRowKey, () => new UsageEntity { PartitionKey = partition }, usage =>
        {
            var now = time.GetUtcNow();
            if (gate?.Invoke(usage, now) is { } refused)
            {
                return (false, refused);
            }

            var log = UsageLog.Parse(column.Read(usage));
            if (log.Contains(id))
            {
                return (false, LimitDecision.Allow);
            }

            var on = limits.Where(l => l.Rule.IsOn).ToList();
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
        }, cancellationToken);

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

    /// <summary>Reads (or makes) a row, applies <paramref name="change"/>, and writes it under its ETag; retried on a conflict.</summary>
    private async Task<TResult> UpdateAsync<TEntity, TResult>(string partition, string row, Func<TEntity> create, Func<TEntity, (bool Write, TResult Result)> change, CancellationToken cancellationToken)
        where TEntity : class, ITableEntity
    {
        var client = await table.GetAsync(cancellationToken);
        for (var attempt = 0; ; attempt++)
        {
            var existing = await FindAsync<TEntity>(partition, row, cancellationToken);
            var entity = existing ?? create();
            var (write, result) = change(entity);
            if (!write)
            {
                return result;
            }

            try
            {
                if (existing is null)
                {
                    await client.AddEntityAsync(entity, cancellationToken);
                }
                else
                {
                    await client.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken);
                }

                return result;
            }
            catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.Conflict or (int)HttpStatusCode.PreconditionFailed && attempt < MaxConflictRetries)
            {
                await ConflictBackoff.DelayAsync(attempt, cancellationToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The hourly SMS budget for {RegionCode} ({Cap}) is spent for hour {Hour} UTC: verifications that need an SMS there now end failed (sms_budget_exceeded). If this is real traffic, raise Abuse:SmsPerCountryPerHourByCountry:{RegionCode}; if not, it may be SMS pumping")]
    private partial void LogBudgetExceeded(string regionCode, int cap, string hour);

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
