using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

#pragma warning disable CA1849 // Cancel() rather than CancelAsync(): see VerificationWorkflow's remarks.
#pragma warning disable DURABLE0010, DURABLE0011 // See VerificationWorkflow.

/// <summary>The workflow's waits: one long-lived signal wait, raced against one timer per wait.</summary>
internal sealed partial class WorkflowRun
{
    /// <summary>
    /// Waits like <see cref="WaitAsync"/> (a resend moves on) until <paramref name="until"/>, reading the row every
    /// <see cref="VerificationWorkflowInput.ReconcileInterval"/>: an end or a resend it records decides, and
    /// <paramref name="judge"/> judges the rest of it.
    /// </summary>
    private async Task<Step> WaitReconcilingAsync(Func<VerificationSignal, Step?> decide, Func<VerificationSnapshot, Step?> judge, DateTime? until = null)
    {
        while (true)
        {
            var next = input.ReconcileInterval is { } interval ? context.CurrentUtcDateTime + interval : (DateTime?)null;
            var untilNext = until is { } at && (next is null || at <= next);
            if (untilNext)
            {
                next = until;
            }

            var step = await WaitAsync(next, resendMovesOn: true, decide);
            if (step.Kind != StepKind.DeadlinePassed || untilNext)
            {
                return step;
            }

            // A read that failed after its retries (the table unreachable for a while) is tried again at the next
            // interval: ending the orchestration here would take the resend, the failover and the expiry with it.
            if (await TryReadAsync() is not { } row)
            {
                continue;
            }

            if (row.Status.IsEnded())
            {
                return Step.EndedWith(row.Status);
            }

            if (row.ResendRequested)
            {
                return Step.MoveOn(FailoverReason.Requested);
            }

            if (judge(row) is { } judged)
            {
                return judged;
            }
        }
    }

    private async Task<VerificationSnapshot?> TryReadAsync()
    {
        try
        {
            return await context.CallActivityAsync<VerificationSnapshot>(ActivityNames.ReadVerification, _id, ActivityRetry);
        }
        catch (TaskFailedException ex)
        {
            logger.LogWarning("Verification {VerificationId}: reading the row failed after retries ({ErrorType}); trying again at the next interval", _id, ex.FailureDetails.ErrorType);
            return null;
        }
    }

    /// <summary>
    /// Waits until a signal decides something, <paramref name="until"/> passes, or the code expires (which ends
    /// the verification). An ended signal always decides; a resend decides when <paramref name="resendMovesOn"/>;
    /// <paramref name="decide"/> judges the rest, and a signal it returns null for changes nothing.
    /// </summary>
    /// <remarks>
    /// One durable timer per wait, at the earlier of <paramref name="until"/> and the code's expiry: every timer is
    /// a queue message and history rows, and one left behind by a wait that ended early still fires later (the
    /// backend then loads the instance only to discard it).
    /// </remarks>
    private async Task<Step> WaitAsync(DateTime? until, bool resendMovesOn, Func<VerificationSignal, Step?> decide)
    {
        var expires = until is not { } due || due >= _expiresAt;
        using var timer = new Deadline(context, expires ? _expiresAt : until!.Value);
        while (true)
        {
            var winner = await Task.WhenAny(_nextSignal, timer.Timer);
            if (winner == timer.Timer)
            {
                if (timer.FiredEarly())
                {
                    continue;
                }

                return expires
                    ? Step.EndedWith(await EndAsync(ActivityNames.Expire, new EndVerificationRequest(_id, NotBefore: Utc(timer.FireAt))))
                    : Step.DeadlinePassed;
            }

            var signal = await _nextSignal;
            _nextSignal = context.WaitForExternalEvent<VerificationSignal>(Workflows.SignalEvent);
            var step = signal switch
            {
                { Kind: SignalKind.Ended, Status: { } status } => Step.EndedWith(status),
                { Kind: SignalKind.ResendRequested } => resendMovesOn ? Step.MoveOn(FailoverReason.Requested) : null,
                _ => decide(signal),
            };
            if (step is not null)
            {
                return step;
            }
        }
    }
}
#pragma warning restore DURABLE0010, DURABLE0011
#pragma warning restore CA1849
