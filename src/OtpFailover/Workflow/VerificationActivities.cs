using Microsoft.Extensions.Logging;
using OtpFailover.Abuse;
using OtpFailover.Channels;
using OtpFailover.Codes;
using OtpFailover.PhoneNumbers;
using OtpFailover.Storage;
using OtpFailover.Telemetry;

namespace OtpFailover.Verifications;

/// <summary>
/// The orchestration's activities. Each may run more than once for the same step, so each records what it did in
/// the verification's row before and after talking to a provider, and a second run never messages the user again.
/// </summary>
public sealed partial class VerificationActivities(
    VerificationStore store,
    CodeGenerator codes,
    PhoneNumberProtector phoneNumbers,
    ProviderMessageKeys messageKeys,
    CodeChannels channels,
    UsageLimiter limits,
    TimeProvider time,
    ILogger<VerificationActivities> logger)
{
    /// <summary>The SMS was not sent: the number had its <see cref="AbuseOptions.SmsPerNumber"/> already.</summary>
    public const string SmsRateLimited = "sms_rate_limited";

    /// <summary>The SMS was not sent: its region's hourly budget is spent.</summary>
    public const string SmsBudgetExceeded = "sms_budget_exceeded";

    /// <summary>On <c>{channel}.sent</c>: the provider's answer was lost, but it de-duplicates (or the channel was the last), so the code may well be out.</summary>
    public const string OutcomeUnknown = "outcome_unknown";

    private static readonly SendActivityResult NotFound = new(false, VerificationStatus.Failed, "verification_not_found");

    /// <summary>
    /// Sends the code on a channel of the plan: the one bookkeeping for every channel, reading what differs from the
    /// channel (<see cref="ICodeChannel"/>). The first write records the move to the channel (after a timed-out wait,
    /// only if the row agrees). Then:
    /// <list type="bullet">
    /// <item>A <see cref="RepeatSafety.SendOnce"/> channel (WhatsApp) is claimed in that same write: a run that finds
    /// the claim without an outcome does not ask again (the provider cannot de-duplicate), and the verification moves
    /// on instead (one extra message at worst, never a gap).</item>
    /// <item>A metered channel (SMS) takes its allowance from the number's limit and its region's budget, once; a
    /// refusal from the provider gives it back (nothing was sent).</item>
    /// <item>A <see cref="RepeatSafety.Repeatable"/> channel (SMS) stores a repeatability pair before the first attempt:
    /// every later attempt (a retry, or this activity run again after a crash) sends the same pair and the same bytes,
    /// and the provider answers it without a second message. An unknown outcome is as good as sent.</item>
    /// </list>
    /// </summary>
    public async Task<SendActivityResult> SendCodeAsync(SendCodeRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await WaitUntilAsync(request.NotBefore, cancellationToken);
        var id = request.VerificationId;
        var channel = channels.For(request.Channel);
        var name = WireNames.Of(request.Channel);
        var previousConfirmed = false;
        var prepared = await store.UpdateAsync(id, entity =>
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

        if (prepared is not { Entity: var entity })
        {
            return NotFound;
        }

        using var span = VerificationTracing.StartStep($"otpfailover.{name}.send", id, entity.TraceParent);
        if (!entity.IsPending)
        {
            return new(false, entity.StatusValue);
        }

        if (previousConfirmed)
        {
            return new(false, VerificationStatus.Pending, $"{WireNames.Of(request.After!.Value)}_confirmed", PreviousConfirmed: true);
        }

        var send = entity.SendOn(request.Channel)!;
        if (send.MessageId is not null)
        {
            return new(true, VerificationStatus.Pending);
        }

        if (send.State == ChannelSendState.Refused)
        {
            return new(false, VerificationStatus.Pending, send.Detail ?? $"{name}_refused");
        }

        if (!prepared.Value.Changed && request is { UnlessConfirmedBy: { } confirmedBy, After: { } previousChannel }
            && confirmedBy.IsConfirmedBy(entity.SendOn(previousChannel)?.Delivery ?? DeliveryStatus.None))
        {
            // Tried before (its provider refused for now) and, since, the previous channel confirmed delivery: the user
            // has the code, and the move its timeout made is not worth a message any more.
            return new(false, VerificationStatus.Pending, $"{WireNames.Of(previousChannel)}_confirmed", PreviousConfirmed: true);
        }

        if (channel.Safety == RepeatSafety.SendOnce && (!prepared.Value.Changed || send.State == ChannelSendState.Unknown))
        {
            // An earlier run claimed the send and left no outcome: it may have sent, and this provider cannot tell a
            // repeat from a second message.
            LogOutcomeUnknown(id, name);
            return await NeverAgainAsync(id, request.Channel);
        }

        if (time.GetUtcNow() >= entity.ExpiresAt)
        {
            return new(false, await ExpireAsync(new EndVerificationRequest(id), cancellationToken));
        }

        // A repeatability pair from an earlier run means that run may have sent before it failed.
        var freshPair = send.RepeatabilityRequestId is null;
        DateTimeOffset? allowedThisRun = null;
        if (channel.Metered && send.AllowedAt is null)
        {
            var allowedAt = time.GetUtcNow();
            var limit = await limits.TryRecordSmsAsync(entity.PhoneIndex, entity.RegionCode, id, allowedAt, cancellationToken);
            if (!limit.Allowed)
            {
                var refusal = limit.Limit == LimitKind.SmsPerCountry ? SmsBudgetExceeded : SmsRateLimited;
                LogRejected(id, name, PhoneNumber.Remask(entity.MaskedPhoneNumber), refusal);
                await SetStateBestEffortAsync(id, request.Channel, ChannelSendState.Refused, refusal);
                return new(false, VerificationStatus.Pending, refusal);
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
                    await limits.ReleaseSmsAsync(entity.PhoneIndex, entity.RegionCode, id, countedAt, CancellationToken.None);
                }

                return new(false, entity.StatusValue);
            }
        }

        var to = phoneNumbers.Decrypt(entity.PhoneCiphertext, id);
        var pair = send is { RepeatabilityRequestId: { } requestId, RepeatabilityFirstSent: { } first } ? new Repeatability(requestId, first) : null;
        var result = await channel.SendAsync(new CodeDelivery(id, to, codes.Derive(id, entity.CodeLength), entity.ExpiresAt, entity.Locale, pair), cancellationToken);
        span?.SetTag("otpfailover.send.outcome", WireNames.Of(result.Outcome));
        if (result.Outcome == SendOutcome.Rejected && channel.Safety == RepeatSafety.Repeatable && !freshPair && !result.RefusesRequest)
        {
            // This attempt sent nothing, but an earlier run may have sent with the same pair (its answer was lost
            // with it): as good as sent, and its allowance stays spent.
            result = ChannelSendResult.Unknown(result.Detail ?? $"{name}_outcome_unknown");
        }

        if (result.Outcome == SendOutcome.Rejected)
        {
            LogRejected(id, name, to.Masked, result.Detail);
            // Only the plan's last channel waits for a provider that refuses for now; any other moves on at once.
            var tryAgainAfter = request.Last ? result.TryAgainAfter : null;
            await GiveBackAsync(entity, request.Channel, channel.Metered, result with { TryAgainAfter = tryAgainAfter });
            return new(false, VerificationStatus.Pending, result.Detail ?? $"{name}_rejected", TryAgainAfter: tryAgainAfter);
        }

        if (result.Outcome == SendOutcome.Unknown && channel.Safety == RepeatSafety.SendOnce)
        {
            // Perhaps sent: never asked again (the provider cannot de-duplicate); the next channel follows.
            LogRejected(id, name, to.Masked, result.Detail);
            return await NeverAgainAsync(id, request.Channel);
        }

        // Accepted, or perhaps sent by a provider that de-duplicates repeats ("unknown" is as good as sent: the user
        // may have the code, and the verification must not end failed for a message that may be on its way).
        var sentAt = time.GetUtcNow();
        var unknown = result.Outcome == SendOutcome.Unknown;
        if (unknown)
        {
            LogSendOutcomeUnknown(id, name, result.Detail);
        }

        var messageKey = string.IsNullOrEmpty(result.ProviderMessageId) ? string.Empty : messageKeys.Of(result.ProviderMessageId);
        await store.UpdateAsync(entity, e =>
        {
            if (e.SendOn(request.Channel) is not { } current || current.MessageId is not null)
            {
                return false;
            }

            e.Put(current with
            {
                State = ChannelSendState.Sent,
                MessageId = messageKey,
                SentAt = sentAt,
                Delivery = current.Delivery == DeliveryStatus.None ? DeliveryStatus.Sent : current.Delivery,
                Detail = null,
            });
            var sentEvent = TimelineEventTypes.Of(request.Channel, DeliveryStatus.Sent);
            if (!e.HasEvent(sentEvent))
            {
                e.Append(new TimelineEvent(sentEvent, sentAt, Detail: unknown ? OutcomeUnknown : null));
            }

            return true;
        }, cancellationToken);
        await IndexBestEffortAsync(request.Channel, messageKey, id);
        LogSent(id, name, to.Masked);
        return new(true, VerificationStatus.Pending);
    }

    /// <summary>
    /// A refused send: gives a metered channel's allowance back and forgets the repeatability pair (nothing was sent
    /// with it, and a first-sent time that ages past the provider's window would make the next attempt a "maybe sent").
    /// The row forgets the allowance first, so a run repeated after a crash here takes it again (counting once more at
    /// worst, never less than was sent). A refusal for now is recorded as deferred, once: a provider that throttles
    /// for the code's whole life is tried every few seconds, and an entry per attempt would fill the timeline.
    /// </summary>
    private async Task GiveBackAsync(VerificationEntity entity, Channel channel, bool metered, ChannelSendResult result)
    {
        DateTimeOffset? countedAt = null;
        try
        {
            await store.UpdateAsync(entity.Id, e =>
            {
                countedAt = null;
                if (e.SendOn(channel) is not { } current || current.MessageId is not null)
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
                var deferredEvent = TimelineEventTypes.DeferredOn(channel);
                var lastType = e.ReadTimeline() is [.., var lastEvent] ? lastEvent.Type : null;
                if (deferred && lastType != deferredEvent)
                {
                    e.Append(new TimelineEvent(deferredEvent, time.GetUtcNow(), Detail: result.Detail));
                }

                return true;
            }, CancellationToken.None);
            if (metered && countedAt is { } at)
            {
                await limits.ReleaseSmsAsync(entity.PhoneIndex, entity.RegionCode, entity.Id, at, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogGiveBackFailed(ex, entity.Id, channel);
        }
    }

    /// <summary>A send-once channel's send that may have gone out: recorded as unknown, and never asked again.</summary>
    private async Task<SendActivityResult> NeverAgainAsync(string id, Channel channel)
    {
        await SetStateBestEffortAsync(id, channel, ChannelSendState.Unknown, null);
        return new(false, VerificationStatus.Pending, $"{WireNames.Of(channel)}_outcome_unknown", Unknown: true);
    }

    /// <summary>Records where a send stands when nothing else changes with it; best effort (the GET shows it, nothing decides by it).</summary>
    private async Task SetStateBestEffortAsync(string id, Channel channel, ChannelSendState state, string? detail)
    {
        try
        {
            await store.UpdateAsync(id, e =>
            {
                if (e.SendOn(channel) is not { } current || current.MessageId is not null || (current.State == state && current.Detail == detail))
                {
                    return false;
                }

                e.Put(current with { State = state, Detail = detail });
                return true;
            }, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogStateNotRecorded(ex, id, channel);
        }
    }

    /// <summary>
    /// Remembers which verification a provider's message belongs to (by its id's keyed hash), after the row has it.
    /// Best effort: status webhooks carry the verification id themselves, and the index is only their fallback.
    /// </summary>
    private async Task IndexBestEffortAsync(Channel channel, string messageKey, string verificationId)
    {
        if (messageKey.Length == 0)
        {
            return;
        }

        try
        {
            await store.IndexProviderMessageAsync(channel, messageKey, verificationId, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogIndexFailed(ex, verificationId, channel);
        }
    }

    /// <summary>The most a timer fires early (the Azure Storage backend delays timer messages in whole seconds), with room for clock skew.</summary>
    private static readonly TimeSpan MaxEarlyTimer = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Waits until the deadline whose durable timer led to this activity, when the timer fired early: the rest of a
    /// second, never more than <see cref="MaxEarlyTimer"/>, so the orchestration needs no second timer (see Deadline).
    /// </summary>
    private async Task WaitUntilAsync(DateTimeOffset? notBefore, CancellationToken cancellationToken)
    {
        if (notBefore is { } due && due - time.GetUtcNow() is { Ticks: > 0 } rest)
        {
            await Task.Delay(rest < MaxEarlyTimer ? rest : MaxEarlyTimer, time, cancellationToken);
        }
    }

    /// <summary>What the row says now: one point read, for the workflow to decide by instead of a late signal.</summary>
    public async Task<VerificationSnapshot> ReadVerificationAsync(string verificationId, CancellationToken cancellationToken)
    {
        var entity = await store.FindAsync(verificationId, cancellationToken);
        return entity is null
            ? new VerificationSnapshot(VerificationStatus.Failed, false, [])
            : new VerificationSnapshot(entity.StatusValue, entity.ResendRequestedAt is not null, [.. entity.ReadSends().Select(s => new ChannelDelivery(s.Channel, s.Delivery))]);
    }

    /// <summary>Ends a verification whose code's lifetime ran out; one that already ended keeps its status.</summary>
    public Task<VerificationStatus> ExpireAsync(EndVerificationRequest request, CancellationToken cancellationToken) =>
        EndIfPendingAsync(request, VerificationStatus.Expired, TimelineEventTypes.Expired, cancellationToken);

    /// <summary>
    /// Ends a verification that no channel could deliver. When another channel did deliver the code (the last one was
    /// only asked for, or sent because the code was not verified in time) the code still works: the last channel's
    /// failure goes on the timeline, and the verification stays pending.
    /// </summary>
    public async Task<VerificationStatus> FailAsync(EndVerificationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var began = DateTimeOffset.UtcNow;
        var result = await store.UpdateAsync(request.VerificationId, entity =>
        {
            if (!entity.IsPending)
            {
                return false;
            }

            var now = time.GetUtcNow();
            var channel = request.Channel ?? entity.ChannelValue;
            if (request.SettleFromRow && entity.SendOn(channel) is { MayHaveSent: true } && now < entity.ExpiresAt)
            {
                // The last channel's send failed, or left no outcome, after it may have sent: as good as sent. Wait for the user.
                var sentEvent = TimelineEventTypes.Of(channel, DeliveryStatus.Sent);
                if (entity.HasEvent(sentEvent))
                {
                    return false;
                }

                entity.Append(new TimelineEvent(sentEvent, now, Detail: OutcomeUnknown));
                return true;
            }

            if (entity.AnotherChannelMayHaveReached(channel, channels.ReportsDelivery) && now < entity.ExpiresAt)
            {
                var failedEvent = TimelineEventTypes.Of(channel, DeliveryStatus.Failed);
                if (entity.HasEvent(failedEvent))
                {
                    return false;
                }

                entity.Append(new TimelineEvent(failedEvent, now, Detail: request.Detail));
                return true;
            }

            if (now >= entity.ExpiresAt)
            {
                entity.End(VerificationStatus.Expired, TimelineEventTypes.Expired, now);
                return true;
            }

            entity.End(VerificationStatus.Failed, TimelineEventTypes.Failed, now, detail: request.Detail ?? VerificationService.NoChannelDelivered);
            return true;
        }, cancellationToken);

        var final = result?.Entity.StatusValue ?? VerificationStatus.Failed;
        Traced("otpfailover.verification.fail", request.VerificationId, result, began);
        if (result is { Changed: true } && final.IsEnded())
        {
            LogEnded(request.VerificationId, final);
        }

        return final;
    }

    private async Task<VerificationStatus> EndIfPendingAsync(EndVerificationRequest request, VerificationStatus status, string eventType, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await WaitUntilAsync(request.NotBefore, cancellationToken);
        var began = DateTimeOffset.UtcNow;
        var result = await store.UpdateAsync(request.VerificationId, entity =>
        {
            if (!entity.IsPending)
            {
                return false;
            }

            entity.End(status, eventType, time.GetUtcNow(), detail: request.Detail);
            return true;
        }, cancellationToken);

        var final = result?.Entity.StatusValue ?? VerificationStatus.Failed;
        Traced($"otpfailover.verification.{eventType}", request.VerificationId, result, began);
        if (result is { Changed: true })
        {
            LogEnded(request.VerificationId, final);
        }

        return final;
    }

    /// <summary>A span, in the verification's trace, for a step that was one write of its row (opened once the row was read).</summary>
    private static void Traced(string name, string verificationId, (VerificationEntity Entity, bool Changed)? result, DateTimeOffset began)
    {
        using var span = VerificationTracing.StartStep(name, verificationId, result?.Entity.TraceParent, began);
        span?.SetTag("otpfailover.verification.status", result is { } r ? WireNames.Of(r.Entity.StatusValue) : null);
        span?.SetTag("otpfailover.changed", result?.Changed ?? false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId}: code sent by {Channel} to {PhoneNumber}")]
    private partial void LogSent(string verificationId, string channel, string phoneNumber);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: {Channel} refused the code for {PhoneNumber}: {Detail}")]
    private partial void LogRejected(string verificationId, string channel, string phoneNumber, string? detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: an earlier {Channel} send has no recorded outcome; moving on instead of sending twice")]
    private partial void LogOutcomeUnknown(string verificationId, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: the {Channel} send's outcome is unknown ({Detail}); counting it as sent, since the provider de-duplicates repeats")]
    private partial void LogSendOutcomeUnknown(string verificationId, string channel, string? detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: a refused {Channel} send could not be recorded (or its allowance given back); the limits count it until their window passes")]
    private partial void LogGiveBackFailed(Exception exception, string verificationId, Channel channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: where its {Channel} send stands could not be recorded")]
    private partial void LogStateNotRecorded(Exception exception, string verificationId, Channel channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: its {Channel} message id could not be indexed; status reports still find it by the verification id they carry")]
    private partial void LogIndexFailed(Exception exception, string verificationId, Channel channel);

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId} ended: {Status}")]
    private partial void LogEnded(string verificationId, VerificationStatus status);
}
