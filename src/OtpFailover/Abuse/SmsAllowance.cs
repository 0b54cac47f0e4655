using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OtpFailover.Abuse;

/// <summary>
/// Whether an SMS may go out: the number's own limit (<see cref="AbuseOptions.SmsPerNumber"/>) and its region's hourly
/// budget (<see cref="AbuseOptions.SmsPerCountryPerHourByCountry"/>), the guard against SMS pumping.
/// </summary>
public sealed partial class SmsAllowance(UsageRows rows, IOptions<AbuseOptions> options, ILogger<SmsAllowance> logger) : ISendAllowance
{
    Task<LimitDecision> ISendAllowance.CheckAsync(string recipient, string group, CancellationToken cancellationToken) =>
        CheckSmsAsync(recipient, group, cancellationToken);

    Task<LimitDecision> ISendAllowance.TryTakeAsync(string recipient, string group, string verificationId, DateTimeOffset at, CancellationToken cancellationToken) =>
        TryRecordSmsAsync(recipient, group, verificationId, at, cancellationToken);

    Task ISendAllowance.ReleaseAsync(string recipient, string group, string verificationId, DateTimeOffset countedAt, CancellationToken cancellationToken) =>
        ReleaseSmsAsync(recipient, group, verificationId, countedAt, cancellationToken);

    private AbuseOptions Settings => options.Value;

    private UsageLimit PerNumber => UsageLimit.Of(nameof(AbuseOptions.SmsPerNumber), Settings.SmsPerNumber, LimitKind.SmsPerNumber);

    /// <summary>Whether an SMS to the number would fit its limit and its region's budget now (nothing is recorded).</summary>
    public async Task<LimitDecision> CheckSmsAsync(string phoneIndex, string regionCode, CancellationToken cancellationToken)
    {
        var number = await rows.CheckAsync(UsageEntity.NumberPartition(phoneIndex), UsageColumn.Sms, PerNumber, cancellationToken);
        if (!number.Allowed)
        {
            return number;
        }

        var now = rows.Time.GetUtcNow();

        var cap = Settings.SmsBudgetFor(regionCode);
        var budget = cap <= 0 ? null : await rows.FindAsync<SmsBudgetEntity>(SmsBudgetEntity.PartitionFor(regionCode), SmsBudgetEntity.RowFor(now), cancellationToken);
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
        var number = await rows.TryAppendAsync(new UsageSubject(numberPartition, [PerNumber]), UsageColumn.Sms, verificationId, cancellationToken);
        if (!number.Allowed)
        {
            return number;
        }

        var region = await TryTakeBudgetAsync(regionCode, at, cancellationToken);
        if (!region.Allowed)
        {
            await rows.ForgetBestEffortAsync(numberPartition, UsageColumn.Sms, verificationId);
        }

        return region;
    }

    /// <summary>
    /// Gives back an SMS the provider refused (nothing was sent, so it costs neither the number nor the region):
    /// the number's record, and one from the budget of the hour it was counted in.
    /// </summary>
    public async Task ReleaseSmsAsync(string phoneIndex, string regionCode, string verificationId, DateTimeOffset countedAt, CancellationToken cancellationToken)
    {
        await rows.ForgetBestEffortAsync(UsageEntity.NumberPartition(phoneIndex), UsageColumn.Sms, verificationId);
        if (Settings.SmsBudgetFor(regionCode) <= 0)
        {
            return;
        }

        var partition = SmsBudgetEntity.PartitionFor(regionCode);
        var row = SmsBudgetEntity.RowFor(countedAt);
        await rows.UpdateAsync(partition, row, () => new SmsBudgetEntity { PartitionKey = partition, RowKey = row }, budget =>
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
        var decision = await rows.UpdateAsync(partition, row, () => new SmsBudgetEntity { PartitionKey = partition, RowKey = row }, budget =>
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
        return LimitDecision.Refuse(LimitKind.SmsPerCountry, $"{UsageRows.Section}:{nameof(AbuseOptions.SmsPerCountryPerHourByCountry)}:{regionCode}", hourStart.AddHours(1) - now);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The hourly SMS budget for {RegionCode} ({Cap}) is spent for hour {Hour} UTC: verifications that need an SMS there now end failed (sms_budget_exceeded). If this is real traffic, raise Abuse:SmsPerCountryPerHourByCountry:{RegionCode}; if not, it may be SMS pumping")]
    private partial void LogBudgetExceeded(string regionCode, int cap, string hour);
}
