using Microsoft.DurableTask.Client;
using OtpFailover.Channels;
using OtpFailover.Telemetry;

namespace OtpFailover.Verifications;

/// <summary>A channel's provider reported a delivery status (a webhook): the row records it, the workflow hears of it.</summary>
public sealed class ApplyDeliveryStatus(VerificationStore store, DeliveryRules rules, WorkflowSignals signals, TimeProvider time)
{
    /// <summary>
    /// Records a channel's delivery status and tells the orchestration. Statuses only move forward (sent, delivered,
    /// read; failed only before delivery): a duplicate, stale or out-of-order status, or one the channel's provider
    /// never reports, changes nothing. A status that arrives after the verification ended is still recorded, but nothing
    /// acts on it. A failure of the plan's last channel ends a pending verification <c>failed</c> when no channel
    /// delivered the code.
    /// </summary>
    public async Task<StatusUpdateOutcome> RunAsync(string id, Channel channel, DeliveryStatus status, DateTimeOffset at, string? detail, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var began = DateTimeOffset.UtcNow;
        var previous = DeliveryStatus.None;
        var endedHere = false;
        var result = await store.UpdateAsync(id, entity =>
        {
            endedHere = false;
            if (entity.SendOn(channel) is not { } send || !rules.IsReported(channel, status))
            {
                return false; // nothing was sent on this channel, or its provider never says this
            }

            previous = send.Delivery;
            if (!DeliveryRules.IsAdvance(previous, status))
            {
                return false;
            }

            entity.Put(send with { Delivery = status });
            var eventType = TimelineEventTypes.Of(channel, status);
            if (!entity.HasEvent(eventType))
            {
                entity.Append(new TimelineEvent(eventType, at, Detail: detail));
            }

            // A failure that leaves no channel: the verification is on the plan's last channel, that one failed or was
            // refused (this report, or before it), and no other channel may have put the code in the user's hand.
            if (status == DeliveryStatus.Failed && rules.FailureLeavesNoChannel(entity))
            {
                entity.End(VerificationStatus.Failed, TimelineEventTypes.Failed, time.GetUtcNow(), detail: DeliveryRules.NoChannelDelivered);
                endedHere = true;
            }

            return true;
        }, cancellationToken);

        var outcome = OutcomeOf(result);
        using var span = VerificationTracing.StartStep($"otpfailover.{WireNames.Of(channel)}.status", id, result?.Entity.TraceParent, began);
        span?.SetTag("otpfailover.delivery.status", WireNames.Of(status));
        span?.SetTag("otpfailover.webhook.result", outcome.ToString());
        if (outcome == StatusUpdateOutcome.Applied && result!.Value.Entity is var entity)
        {
            if (endedHere)
            {
                await signals.SignalAsync(durable, id, VerificationSignal.EndedWith(VerificationStatus.Failed), CancellationToken.None);
            }
            else if (entity.IsPending && rules.WakesTheWorkflow(channel, previous, status))
            {
                await signals.SignalAsync(durable, id, VerificationSignal.ForDelivery(channel, status), CancellationToken.None);
            }

            await signals.NotifyCallbacksAsync(durable, entity);
        }

        return outcome;
    }

    private static StatusUpdateOutcome OutcomeOf((VerificationEntity Entity, bool Changed)? result) => result switch
    {
        null => StatusUpdateOutcome.NotFound,
        { Changed: false } => StatusUpdateOutcome.Unchanged,
        _ => StatusUpdateOutcome.Applied,
    };
}
