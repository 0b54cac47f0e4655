using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

/// <summary>What the first write of a send found: the row after it, and whether it wrote.</summary>
/// <param name="PreviousConfirmed">The move followed a timed-out wait, and the row says the previous channel confirmed delivery: no move.</param>
public readonly record struct RecordedMove(VerificationEntity Entity, bool Changed, bool PreviousConfirmed);

/// <summary>
/// The send's first step: one write that records the move to the channel (after a timed-out wait, only if the row
/// agrees) and, for a <see cref="RepeatSafety.SendOnce"/> channel, claims the send. A run that finds the channel's
/// entry already there writes nothing: the entry says how far the step got.
/// </summary>
public sealed class SendMove(VerificationStore store, TimeProvider time)
{
    /// <returns>The row after the write; null when there is no such verification.</returns>
    public async Task<RecordedMove?> RecordAsync(SendCodeRequest request, ICodeChannel channel, CancellationToken cancellationToken)
    {
        var previousConfirmed = false;
        var prepared = await store.UpdateAsync(request.VerificationId, entity =>
        {
            previousConfirmed = false;
            if (!entity.IsPending)
            {
                return false;
            }

            var now = time.GetUtcNow();
            if (entity.SendOn(request.Channel) is not null)
            {
                return false; // this step ran before: the entry says how far it got
            }

            // After a timed-out wait the row decides (a signal can be late): a resend the user asked for moves on
            // whatever the previous channel said; otherwise its confirmation means no move at all, and its failure is
            // the true reason.
            var (reason, detail) = (request.Reason, request.Detail);
            if (request.UnlessConfirmedBy is { } rule && request.After is { } after)
            {
                var previous = entity.SendOn(after)?.Delivery ?? DeliveryStatus.None;
                if (entity.ResendRequestedAt is not null)
                {
                    (reason, detail) = (FailoverReason.Requested, null);
                }
                else if (rule.IsConfirmedBy(previous))
                {
                    previousConfirmed = true;
                    return false;
                }
                else if (previous == DeliveryStatus.Failed)
                {
                    (reason, detail) = (FailoverReason.Failed, null);
                }
            }

            if (now >= entity.ExpiresAt)
            {
                entity.End(VerificationStatus.Expired, TimelineEventTypes.Expired, now);
                return true;
            }

            if (reason is { } moved)
            {
                entity.Append(new TimelineEvent(TimelineEventTypes.Failover, now, WireNames.Of(moved), detail, request.Channel));
            }

            var sendOnce = channel.Safety == RepeatSafety.SendOnce;
            entity.Put(new ChannelSend { Channel = request.Channel, Reason = reason, StartedAt = now, AttemptedAt = sendOnce ? now : null });
            if (sendOnce)
            {
                entity.ChannelValue = request.Channel;
            }

            if (reason is not null)
            {
                // The move answers a resend asked for meanwhile: the next one moves on from this channel. (The plan's
                // first channel leaves a resend asked for before its send alone: the workflow moves on after it.)
                entity.ResendRequestedAt = null;
            }

            return true;
        }, cancellationToken);
        return prepared is { Entity: var entity, Changed: var changed } ? new RecordedMove(entity, changed, previousConfirmed) : null;
    }
}
