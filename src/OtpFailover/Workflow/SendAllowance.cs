using Microsoft.Extensions.Logging;
using OtpFailover.Abuse;
using OtpFailover.Channels;
using OtpFailover.PhoneNumbers;
using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

/// <summary>A send that may go out now: the row as it stands, the channel's entry, and whether its repeatability pair is new.</summary>
/// <param name="FreshPair">No earlier run stored a repeatability pair: no earlier run of a repeatable channel may have sent.</param>
public sealed record AllowedSend(VerificationEntity Entity, ChannelSend Send, bool FreshPair);

/// <summary>
/// The send's third step: a metered channel (SMS) takes its allowance from the number's limit and its region's budget,
/// once; a <see cref="RepeatSafety.Repeatable"/> channel stores its repeatability pair before the first attempt. Both
/// are one write of the row, before the provider is asked. A refused send gives the allowance back.
/// </summary>
public sealed partial class SendAllowance(VerificationStore store, SendAllowances allowances, SendState state, TimeProvider time, ILogger<SendAllowance> logger)
{
    /// <returns>The send, ready to go out; or what the activity answers instead (refused by a limit, or the verification ended meanwhile).</returns>
    public async Task<(AllowedSend? Allowed, SendActivityResult? Instead)> TakeAsync(SendCodeRequest request, ICodeChannel channel, VerificationEntity entity, ChannelSend send, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(entity);
        ArgumentNullException.ThrowIfNull(send);
        var id = request.VerificationId;

        if (!entity.Has(channel.Recipient))
        {
            // Planned without its recipient (a plan that named the channel for a start that could not be reached on
            // it): nothing is counted and nothing sent.
            var refusal = $"{WireNames.Of(request.Channel)}_no_recipient";
            await state.SetBestEffortAsync(id, request.Channel, ChannelSendState.Refused, refusal);
            return (null, new(false, VerificationStatus.Pending, refusal));
        }

        // A repeatability pair from an earlier run means that run may have sent before it failed.
        var freshPair = send.RepeatabilityRequestId is null;
        DateTimeOffset? allowedThisRun = null;
        var allowance = allowances.For(request.Channel);
        var (recipient, group) = entity.ChargeFor(channel.Recipient);
        if (allowance is not null && send.AllowedAt is null)
        {
            var allowedAt = time.GetUtcNow();
            var limit = await allowance.TryTakeAsync(recipient, group, id, allowedAt, cancellationToken);
            if (!limit.Allowed)
            {
                var refusal = SendDetails.Refusal(request.Channel, limit.Limit);
                state.Refused(id, request.Channel, entity.MaskedRecipient(channel.Recipient), refusal);
                await state.SetBestEffortAsync(id, request.Channel, ChannelSendState.Refused, refusal);
                return (null, new(false, VerificationStatus.Pending, refusal));
            }

            allowedThisRun = allowedAt;
            send = send with { AllowedAt = allowedAt };
        }

        if (allowedThisRun is not null || (channel.Safety == RepeatSafety.Repeatable && freshPair))
        {
            var firstSent = time.GetUtcNow();
            var allowedAt = send.AllowedAt;
            var before = await store.UpdateAsync(entity, e =>
            {
                if (!e.IsPending || e.SendOn(request.Channel) is not { } current || current.MessageId is not null)
                {
                    return false;
                }

                e.Put(current with
                {
                    AllowedAt = current.AllowedAt ?? allowedAt,
                    RepeatabilityRequestId = channel.Safety == RepeatSafety.Repeatable ? current.RepeatabilityRequestId ?? Guid.NewGuid() : null,
                    RepeatabilityFirstSent = channel.Safety == RepeatSafety.Repeatable ? current.RepeatabilityFirstSent ?? firstSent : null,
                });
                e.ChannelValue = request.Channel;
                return true;
            }, cancellationToken);
            entity = before?.Entity ?? entity;
            send = entity.SendOn(request.Channel) ?? send;
            if (!entity.IsPending)
            {
                // It ended meanwhile (approved, canceled, superseded, a failure reported): nothing is sent, and an
                // allowance taken for this send is given back, unless the row shows another run of this step took
                // one and may have sent with it (a duplicate run): the number's record is the verification's, not
                // this run's, and that SMS must stay counted.
                if (allowedThisRun is { } countedAt && send is { AllowedAt: null, RepeatabilityRequestId: null, MessageId: null })
                {
                    await allowance!.ReleaseAsync(recipient, group, id, countedAt, CancellationToken.None);
                }

                return (null, new(false, entity.StatusValue));
            }
        }

        return (new AllowedSend(entity, send, freshPair), null);
    }

    /// <summary>
    /// A refused send: gives a metered channel's allowance back and forgets the repeatability pair (nothing was sent
    /// with it, and a first-sent time that ages past the provider's window would make the next attempt a "maybe sent").
    /// The row forgets the allowance first, so a run repeated after a crash here takes it again (counting once more at
    /// worst, never less than was sent). A refusal for now is recorded as deferred, once: a provider that throttles
    /// for the code's whole life is tried every few seconds, and an entry per attempt would fill the timeline.
    /// </summary>
    public async Task GiveBackAsync(VerificationEntity entity, ICodeChannel channel, ChannelSendResult result)
    {
        ArgumentNullException.ThrowIfNull(entity);
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(result);
        DateTimeOffset? countedAt = null;
        try
        {
            await store.UpdateAsync(entity.Id, e =>
            {
                countedAt = null;
                if (e.SendOn(channel.Channel) is not { } current || current.MessageId is not null)
                {
                    return false;
                }

                countedAt = current.AllowedAt;
                var deferred = result.TryAgainAfter is not null;
                e.Put(current with
                {
                    State = deferred ? ChannelSendState.Deferred : ChannelSendState.Refused,
                    Detail = result.Detail,
                    AllowedAt = null,
                    RepeatabilityRequestId = null,
                    RepeatabilityFirstSent = null,
                });
                var deferredEvent = TimelineEventTypes.DeferredOn(channel.Channel);
                var lastType = e.ReadTimeline() is [.., var lastEvent] ? lastEvent.Type : null;
                if (deferred && lastType != deferredEvent)
                {
                    e.Append(new TimelineEvent(deferredEvent, time.GetUtcNow(), Detail: result.Detail));
                }

                return true;
            }, CancellationToken.None);
            if (allowances.For(channel.Channel) is { } allowance && countedAt is { } at)
            {
                var (recipient, group) = entity.ChargeFor(channel.Recipient);
                await allowance.ReleaseAsync(recipient, group, entity.Id, at, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogGiveBackFailed(ex, entity.Id, channel.Channel);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: a refused {Channel} send could not be recorded (or its allowance given back); the limits count it until their window passes")]
    private partial void LogGiveBackFailed(Exception exception, string verificationId, Channel channel);
}
