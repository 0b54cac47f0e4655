using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using OtpFailover.Abuse;
using OtpFailover.Telemetry;

namespace OtpFailover.Verifications;

/// <summary>The user asked for the code another way: the plan's next channel, now.</summary>
public sealed partial class ResendCode(
    VerificationStore store,
    DeliveryRules rules,
    SendAllowances allowances,
    WorkflowSignals signals,
    TimeProvider time,
    OtpMetrics metrics,
    ILogger<ResendCode> logger)
{
    /// <summary>
    /// Sends the code on the plan's next channel now (the user asked for another way). Refused when the verification
    /// is on its plan's last channel, when the next channel has no provider, when a resend was asked for already and
    /// not yet acted on, and when the next channel is metered and a message now would exceed the number's SMS limit or
    /// its region's budget. When the orchestration cannot be told, the request is taken back, so the verification
    /// never claims a send that nobody will make.
    /// </summary>
    public async Task<ChangeResult> RunAsync(string id, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var result = await ResendCoreAsync(id, durable, cancellationToken);
        if (result.Outcome == ChangeOutcome.RateLimited)
        {
            metrics.Refused(result.Limit?.Limit);
        }

        return result;
    }

    private async Task<ChangeResult> ResendCoreAsync(string id, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var current = await store.FindAsync(id, cancellationToken);
        if (current is null)
        {
            return new ChangeResult(ChangeOutcome.NotFound, null);
        }

        using var span = VerificationTracing.StartStep("otpfailover.verification.resend", id, current.TraceParent);
        if (!current.IsPending || time.GetUtcNow() >= current.ExpiresAt)
        {
            return new ChangeResult(ChangeOutcome.AlreadyEnded, current.ToVerification());
        }

        if (rules.NextChannelFor(current) is not { } next)
        {
            return new ChangeResult(ChangeOutcome.NoChannelLeft, current.ToVerification());
        }

        if (allowances.For(next) is { } allowance)
        {
            var (recipient, group) = current.ChargeFor(rules.RecipientOf(next));
            var limit = await allowance.CheckAsync(recipient, group, cancellationToken);
            if (!limit.Allowed)
            {
                LogResendRefused(id, limit.Setting);
                return new ChangeResult(ChangeOutcome.RateLimited, current.ToVerification(), limit);
            }
        }

        var outcome = ChangeOutcome.NotFound;
        var requestedAt = time.GetUtcNow();
        var result = await store.UpdateAsync(current, entity =>
        {
            if (!entity.IsPending || time.GetUtcNow() >= entity.ExpiresAt)
            {
                outcome = ChangeOutcome.AlreadyEnded;
                return false;
            }

            if (rules.NextChannelFor(entity) != next)
            {
                outcome = ChangeOutcome.NoChannelLeft;
                return false;
            }

            outcome = ChangeOutcome.Done;
            entity.ResendRequestedAt = requestedAt;
            return true;
        }, cancellationToken);

        if (result is not { } updated)
        {
            return new ChangeResult(ChangeOutcome.NotFound, null);
        }

        if (updated.Changed && !await signals.SignalAsync(durable, id, VerificationSignal.Resend, CancellationToken.None))
        {
            // Nobody will act on the request: take it back (unless the verification moved on meanwhile), so that the
            // caller can ask again and the row does not claim a send that never happens.
            await store.UpdateAsync(id, entity =>
            {
                if (entity.ResendRequestedAt != requestedAt)
                {
                    return false;
                }

                entity.ResendRequestedAt = null;
                return true;
            }, CancellationToken.None);
            return new ChangeResult(ChangeOutcome.NotDelivered, updated.Entity.ToVerification());
        }

        return new ChangeResult(outcome, updated.Entity.ToVerification(), Channel: next);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: resend refused by {Setting}")]
    private partial void LogResendRefused(string verificationId, string? setting);
}
