using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpFailover.Abuse;
using OtpFailover.Channels;
using OtpFailover.Codes;
using OtpFailover.Telemetry;

namespace OtpFailover.Verifications;

public enum CheckOutcome
{
    NotFound,
    Approved,
    Incorrect,
    MaxAttemptsReached,
    AlreadyEnded,

    /// <summary>The number's wrong codes across its verifications reached their limit: nothing was checked.</summary>
    RateLimited,
}

public sealed record CheckResult(CheckOutcome Outcome, Verification? Verification, LimitDecision? Limit = null);

/// <summary>Checks a code the user submitted, counting wrong codes on the verification and against the number.</summary>
public sealed partial class CheckCode(
    VerificationStore store,
    CodeGenerator codes,
    WrongCodeBudget budgetRow,
    WorkflowSignals signals,
    IOptions<AbuseOptions> abuse,
    TimeProvider time,
    OtpMetrics metrics,
    ILogger<CheckCode> logger)
{
    /// <summary>
    /// Checks a code. Every wrong code counts one attempt, exactly, however many checks run in parallel; the last
    /// allowed wrong code ends the verification, and nothing approves it after that. A verification carries its share
    /// of its number's budget of wrong codes across all its verifications (<see cref="AbuseOptions.FailedChecksPerNumber"/>):
    /// the number's wrong codes when it started, plus its own. When that is spent, every check is refused, right code
    /// or wrong (a different answer would tell a guesser which guess was right). The gate is judged inside the same
    /// ETag-guarded write as the attempt, so racing checks can never take more guesses than are left. A wrong code is
    /// recorded against the number first; a right code reads the number's row (so wrong codes of a burst still on their
    /// way count against it too) and writes only its verification's row.
    /// </summary>
    public async Task<CheckResult> RunAsync(string id, string code, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var result = await CheckCoreAsync(id, code, durable, cancellationToken);
        metrics.Checked(result.Outcome);
        if (result.Outcome == CheckOutcome.RateLimited)
        {
            metrics.Refused(result.Limit?.Limit);
        }

        return result;
    }

    private async Task<CheckResult> CheckCoreAsync(string id, string code, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(code);
        var current = await store.FindAsync(id, cancellationToken);
        if (current is null)
        {
            return new CheckResult(CheckOutcome.NotFound, null);
        }

        using var span = VerificationTracing.StartStep("otpfailover.verification.check", id, current.TraceParent);
        var budget = abuse.Value.FailedChecksPerNumber;
        var live = current.IsPending && time.GetUtcNow() < current.ExpiresAt;
        if (live && Spent(current, budget))
        {
            return await RefuseCheckAsync(current, cancellationToken);
        }

        var matches = codes.Matches(id, current.CodeLength, code);
        if (matches && live && budget.IsOn)
        {
            // The row does not see wrong codes of a burst still on their way to it; the number's row does. Every guess
            // recorded before this read fits the budget, so a right code that passes it was among the allowed guesses.
            var gate = await budgetRow.CheckFailedChecksAsync(current.PhoneIndex, cancellationToken);
            if (!gate.Allowed)
            {
                LogCheckRefused(id, gate.Setting);
                return new CheckResult(CheckOutcome.RateLimited, current.ToVerification(), gate);
            }
        }

        var checkId = Guid.NewGuid().ToString("N");
        var recorded = false;
        var outcome = CheckOutcome.NotFound;
        try
        {
            if (!matches && live && budget.IsOn)
            {
                // A wrong code goes into the number's budget first, so that a start reading the number now sees it.
                recorded = true;
                var place = await budgetRow.TryRecordFailedCheckAsync(current.PhoneIndex, checkId, cancellationToken);
                if (!place.Allowed)
                {
                    recorded = false;
                    LogCheckRefused(id, place.Setting);
                    return new CheckResult(CheckOutcome.RateLimited, current.ToVerification(), place);
                }
            }

            var result = await UpdateForCheckAsync(current, matches, budget, o => outcome = o, cancellationToken);
            if (result is not { } updated)
            {
                return new CheckResult(CheckOutcome.NotFound, null);
            }

            if (outcome == CheckOutcome.RateLimited)
            {
                return await RefuseCheckAsync(updated.Entity, cancellationToken);
            }

            LogChecked(id, outcome, updated.Entity.AttemptsUsed);
            if (updated.Changed && !updated.Entity.IsPending)
            {
                await signals.EndedAsync(durable, updated.Entity);
            }

            return new CheckResult(outcome, updated.Entity.ToVerification());
        }
        finally
        {
            // A wrong code that did not count on its verification (it ended first, the budget was spent by a racing
            // check, or the check failed half way) takes its record back; that is idempotent and never throws.
            if (recorded && outcome is not (CheckOutcome.Incorrect or CheckOutcome.MaxAttemptsReached))
            {
                await budgetRow.ForgetFailedCheckAsync(current.PhoneIndex, checkId);
            }
        }
    }

    private static bool Spent(VerificationEntity entity, RateLimitRule budget) =>
        budget.IsOn && entity.FailedChecksBefore + entity.AttemptsUsed >= budget.Limit;

    private async Task<CheckResult> RefuseCheckAsync(VerificationEntity entity, CancellationToken cancellationToken)
    {
        var refusal = await budgetRow.RefuseFailedChecksAsync(entity.PhoneIndex, cancellationToken);
        LogCheckRefused(entity.Id, refusal.Setting);
        return new CheckResult(CheckOutcome.RateLimited, entity.ToVerification(), refusal);
    }

    private Task<(VerificationEntity Entity, bool Changed)?> UpdateForCheckAsync(VerificationEntity current, bool matches, RateLimitRule budget, Action<CheckOutcome> report, CancellationToken cancellationToken) =>
        store.UpdateAsync(current, entity =>
        {
            var now = time.GetUtcNow();
            if (!entity.IsPending)
            {
                report(CheckOutcome.AlreadyEnded);
                return false;
            }

            if (now >= entity.ExpiresAt)
            {
                report(CheckOutcome.AlreadyEnded);
                entity.End(VerificationStatus.Expired, TimelineEventTypes.Expired, now);
                return true;
            }

            if (Spent(entity, budget))
            {
                report(CheckOutcome.RateLimited);
                return false;
            }

            if (matches)
            {
                report(CheckOutcome.Approved);
                entity.End(VerificationStatus.Approved, TimelineEventTypes.Approved, now, detail: WireNames.Of(entity.ChannelValue));
                return true;
            }

            entity.AttemptsUsed++;
            entity.Append(new TimelineEvent(TimelineEventTypes.CheckFailed, now));
            if (entity.AttemptsUsed >= entity.MaxAttempts)
            {
                report(CheckOutcome.MaxAttemptsReached);
                entity.End(VerificationStatus.MaxAttemptsReached, TimelineEventTypes.MaxAttemptsReached, now);
            }
            else
            {
                report(CheckOutcome.Incorrect);
            }

            return true;
        }, cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: check refused by {Setting}")]
    private partial void LogCheckRefused(string verificationId, string? setting);

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId} checked: {Outcome} ({AttemptsUsed} attempts used)")]
    private partial void LogChecked(string verificationId, CheckOutcome outcome, int attemptsUsed);
}
