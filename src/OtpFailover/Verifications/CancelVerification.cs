using Microsoft.DurableTask.Client;
using OtpFailover.Abuse;
using OtpFailover.Channels;
using OtpFailover.Telemetry;

namespace OtpFailover.Verifications;

public enum ChangeOutcome
{
    NotFound,
    Done,
    AlreadyEnded,
    NoChannelLeft,

    /// <summary>An SMS now would exceed the number's SMS limit or its region's budget: nothing changed.</summary>
    RateLimited,

    /// <summary>The orchestration could not be told, so nothing changed; the caller may try again.</summary>
    NotDelivered,
}

/// <param name="Channel">For a resend that was taken: the channel the code goes out on now.</param>
public sealed record ChangeResult(ChangeOutcome Outcome, Verification? Verification, LimitDecision? Limit = null, Channel? Channel = null);

/// <summary>The caller cancels a verification.</summary>
public sealed class CancelVerification(VerificationStore store, WorkflowSignals signals, TimeProvider time)
{
    /// <summary>Cancels a pending verification; canceling a canceled one again is done already.</summary>
    public async Task<ChangeResult> RunAsync(string id, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var began = DateTimeOffset.UtcNow;
        var outcome = ChangeOutcome.NotFound;
        var result = await store.UpdateAsync(id, entity =>
        {
            if (!entity.IsPending)
            {
                outcome = entity.StatusValue == VerificationStatus.Canceled ? ChangeOutcome.Done : ChangeOutcome.AlreadyEnded;
                return false;
            }

            outcome = ChangeOutcome.Done;
            entity.End(VerificationStatus.Canceled, TimelineEventTypes.Canceled, time.GetUtcNow());
            return true;
        }, cancellationToken);

        if (result is not { } updated)
        {
            return new ChangeResult(ChangeOutcome.NotFound, null);
        }

        using var span = VerificationTracing.StartStep("otpfailover.verification.cancel", id, updated.Entity.TraceParent, began);
        if (updated.Changed)
        {
            await signals.EndedAsync(durable, updated.Entity);
        }

        return new ChangeResult(outcome, updated.Entity.ToVerification());
    }
}
