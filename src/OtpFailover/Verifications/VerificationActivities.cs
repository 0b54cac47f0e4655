using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpFailover.Abuse;
using OtpFailover.Codes;
using OtpFailover.PhoneNumbers;
using OtpFailover.Sms;
using OtpFailover.Storage;
using OtpFailover.Telemetry;
using OtpFailover.WhatsApp;

namespace OtpFailover.Verifications;

/// <summary>
/// The orchestration's activities. Each may run more than once for the same step, so each records what it did in
/// the verification's row before and after talking to a provider, and a second run never messages the user again.
/// </summary>
public sealed partial class VerificationActivities(
    VerificationStore store,
    CodeGenerator codes,
    PhoneNumberProtector phoneNumbers,
    IWhatsAppCodeSender whatsApp,
    ISmsCodeSender sms,
    UsageLimiter limits,
    IOptions<VerificationOptions> options,
    TimeProvider time,
    ILogger<VerificationActivities> logger)
{
    /// <summary>The SMS was not sent: the number had its <see cref="AbuseOptions.SmsPerNumber"/> already.</summary>
    public const string SmsRateLimited = "sms_rate_limited";

    /// <summary>The SMS was not sent: its region's hourly budget is spent.</summary>
    public const string SmsBudgetExceeded = "sms_budget_exceeded";

    /// <summary>On <c>sms.sent</c>: the provider's answer was lost, but it de-duplicates, so the SMS may well be out.</summary>
    public const string SmsOutcomeUnknown = "outcome_unknown";

    private static readonly SendActivityResult NotFound = new(false, VerificationStatus.Failed, "verification_not_found");

    /// <summary>
    /// Sends the code on WhatsApp once. WhatsApp has no idempotency key, so a send that started but never recorded its
    /// outcome is not repeated: the verification fails over to SMS instead (one extra message at worst, never a gap).
    /// </summary>
    public async Task<SendActivityResult> SendWhatsAppAsync(string verificationId, CancellationToken cancellationToken)
    {
        var claim = await store.UpdateAsync(verificationId, entity =>
        {
            if (!entity.IsPending || entity.WhatsAppSendStartedAt is not null)
            {
                return false;
            }

            var now = time.GetUtcNow();
            if (now >= entity.ExpiresAt)
            {
                entity.End(VerificationStatus.Expired, TimelineEventTypes.Expired, now);
                return true;
            }

            entity.WhatsAppSendStartedAt = now;
            return true;
        }, cancellationToken);

        if (claim is not { } claimed)
        {
            return NotFound;
        }

        var entity = claimed.Entity;
        if (!entity.IsPending)
        {
            return new(false, entity.StatusValue);
        }

        if (!claimed.Changed)
        {
            if (entity.WhatsAppMessageId is not null)
            {
                return new(true, VerificationStatus.Pending);
            }

            LogOutcomeUnknown(verificationId);
            return new(false, VerificationStatus.Pending, "whatsapp_outcome_unknown");
        }

        using var span = VerificationTracing.StartStep("otpfailover.whatsapp.send", verificationId, entity.TraceParent);
        var to = phoneNumbers.Decrypt(entity.PhoneCiphertext, verificationId);
        var code = codes.Derive(verificationId, entity.CodeLength);
        var result = await whatsApp.SendAsync(new WhatsAppCodeMessage(verificationId, to, code, entity.ExpiresAt, entity.Locale), cancellationToken);
        span?.SetTag("otpfailover.send.outcome", WireNames.Of(result.Outcome));
        if (result.Outcome != SendOutcome.Accepted)
        {
            // Refused, or perhaps sent: either way WhatsApp is not tried again (it cannot de-duplicate); SMS is next.
            LogRejected(verificationId, "whatsapp", to.Masked, result.Detail);
            var detail = result.Outcome == SendOutcome.Unknown ? WhatsAppCloudApiSender.OutcomeUnknown : result.Detail ?? "whatsapp_rejected";
            return new(false, VerificationStatus.Pending, detail);
        }

        var sentAt = time.GetUtcNow();
        await store.UpdateAsync(entity, e =>
        {
            e.WhatsAppMessageId = result.ProviderMessageId ?? string.Empty;
            if (e.WhatsAppStatusValue == WhatsAppDeliveryStatus.None)
            {
                e.WhatsAppStatusValue = WhatsAppDeliveryStatus.Sent;
            }

            if (!e.HasEvent(TimelineEventTypes.WhatsAppSent))
            {
                e.Append(new TimelineEvent(TimelineEventTypes.WhatsAppSent, sentAt));
            }

            return true;
        }, cancellationToken);
        await IndexBestEffortAsync(Channel.WhatsApp, result.ProviderMessageId, verificationId);
        LogSent(verificationId, "whatsapp", to.Masked);
        return new(true, VerificationStatus.Pending);
    }

    /// <summary>
    /// Fails over to SMS. It records the failover, then takes the SMS from the number's limit and its region's budget,
    /// and stores a repeatability pair with that allowance before the first attempt: every later attempt (a retry, or
    /// this activity run again after a crash) sends the same pair and the same bytes, and the provider answers it
    /// without a second SMS. A refusal from the provider gives the allowance back (nothing was sent).
    /// </summary>
    public async Task<SendActivityResult> SendSmsAsync(SmsFailoverRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await WaitUntilAsync(request.NotBefore, cancellationToken);
        var id = request.VerificationId;
        var whatsAppConfirmed = false;
        var prepared = await store.UpdateAsync(id, entity =>
        {
            whatsAppConfirmed = false;
            if (!entity.IsPending || entity.FailoverReason is not null)
            {
                return false;
            }

            // After a timed-out wait the row decides (a signal can be late): a resend the user asked for is sent
            // whatever WhatsApp said; otherwise delivered means no failover at all, and a failure is the true reason.
            var reason = request.Reason;
            var detail = request.Detail;
            if (request.UnlessConfirmedBy is { } rule)
            {
                if (entity.ResendRequestedAt is not null)
                {
                    (reason, detail) = (FailoverReason.Requested, null);
                }
                else if (rule.IsConfirmedBy(entity.WhatsAppStatusValue))
                {
                    whatsAppConfirmed = true;
                    return false;
                }
                else if (entity.WhatsAppStatusValue == WhatsAppDeliveryStatus.Failed)
                {
                    (reason, detail) = (FailoverReason.Failed, null);
                }
            }

            entity.FailoverReason = reason.ToString();
            entity.Append(new TimelineEvent(TimelineEventTypes.Failover, time.GetUtcNow(), WireNames.Of(reason), detail));
            return true;
        }, cancellationToken);

        if (prepared is not { Entity: var entity })
        {
            return NotFound;
        }

        using var span = VerificationTracing.StartStep("otpfailover.sms.send", id, entity.TraceParent);

        if (!entity.IsPending)
        {
            return new(false, entity.StatusValue);
        }

        if (whatsAppConfirmed)
        {
            return new(false, VerificationStatus.Pending, "whatsapp_confirmed", WhatsAppConfirmed: true);
        }

        if (entity.SmsMessageId is not null)
        {
            return new(true, VerificationStatus.Pending);
        }

        if (time.GetUtcNow() >= entity.ExpiresAt)
        {
            return new(false, await ExpireAsync(new EndVerificationRequest(id), cancellationToken));
        }

        // An allowance from an earlier run of this activity means that run may have sent the SMS before it failed.
        var allowedThisRun = entity.SmsAllowedAt is null;
        if (allowedThisRun)
        {
            var allowedAt = time.GetUtcNow();
            var limit = await limits.TryRecordSmsAsync(entity.PhoneIndex, entity.RegionCode, id, allowedAt, cancellationToken);
            if (!limit.Allowed)
            {
                var refusal = limit.Limit == LimitKind.SmsPerCountry ? SmsBudgetExceeded : SmsRateLimited;
                LogRejected(id, "sms", entity.MaskedPhoneNumber, refusal);
                return new(false, VerificationStatus.Pending, refusal);
            }

            var allowed = await store.UpdateAsync(entity, e =>
            {
                if (e.SmsAllowedAt is not null)
                {
                    return false;
                }

                e.SmsAllowedAt = allowedAt;
                e.ChannelValue = Channel.Sms;
                e.SmsRepeatabilityRequestId ??= Guid.NewGuid().ToString();
                e.SmsRepeatabilityFirstSent ??= allowedAt;
                return true;
            }, cancellationToken);
            entity = allowed?.Entity ?? entity;
        }

        var to = phoneNumbers.Decrypt(entity.PhoneCiphertext, id);
        var message = new SmsCodeMessage(
            id,
            to,
            codes.Derive(id, entity.CodeLength),
            options.Value.Brand,
            entity.ExpiresAt,
            Guid.Parse(entity.SmsRepeatabilityRequestId!),
            entity.SmsRepeatabilityFirstSent!.Value,
            entity.Locale);
        var result = await sms.SendAsync(message, cancellationToken);
        span?.SetTag("otpfailover.send.outcome", WireNames.Of(result.Outcome));
        if (result.Outcome == SendOutcome.Rejected && !allowedThisRun && !result.RefusesRequest)
        {
            // This attempt sent nothing, but an earlier run may have sent the SMS (its answer was lost with it): as
            // good as sent, and its allowance stays spent.
            result = ChannelSendResult.Unknown(result.Detail ?? "sms_outcome_unknown");
        }

        if (result.Outcome == SendOutcome.Rejected)
        {
            LogRejected(id, "sms", to.Masked, result.Detail);
            await GiveBackSmsAsync(entity);
            if (result.TryAgainAfter is not null)
            {
                // Once: a provider that throttles for the code's whole life is tried again every few seconds, and an
                // entry per attempt would fill the timeline and push out how the verification ended.
                await store.UpdateAsync(id, e =>
                {
                    if (e.ReadTimeline() is [.., { Type: TimelineEventTypes.SmsDeferred }])
                    {
                        return false;
                    }

                    e.Append(new TimelineEvent(TimelineEventTypes.SmsDeferred, time.GetUtcNow(), Detail: result.Detail));
                    return true;
                }, cancellationToken);
            }

            return new(false, VerificationStatus.Pending, result.Detail ?? "sms_rejected", TryAgainAfter: result.TryAgainAfter);
        }

        // Accepted, or perhaps sent (the provider de-duplicates repeats, so "unknown" is as good as sent: the user
        // may have the code, and the verification must not end failed for an SMS that may be on its way).
        var sentAt = time.GetUtcNow();
        var unknown = result.Outcome == SendOutcome.Unknown;
        if (unknown)
        {
            LogSmsOutcomeUnknown(id, result.Detail);
        }

        await store.UpdateAsync(entity, e =>
        {
            if (e.SmsMessageId is not null)
            {
                return false;
            }

            e.SmsMessageId = result.ProviderMessageId ?? string.Empty;
            e.SmsSentAt = sentAt;
            e.Append(new TimelineEvent(TimelineEventTypes.SmsSent, sentAt, Detail: unknown ? SmsOutcomeUnknown : null));
            return true;
        }, cancellationToken);
        await IndexBestEffortAsync(Channel.Sms, result.ProviderMessageId, id);
        LogSent(id, "sms", to.Masked);
        return new(true, VerificationStatus.Pending);
    }

    /// <summary>
    /// Gives a refused SMS's allowance back. The row forgets the allowance first, so a run repeated after a crash
    /// here takes it again (counting once more at worst, never less than was sent).
    /// </summary>
    private async Task GiveBackSmsAsync(VerificationEntity entity)
    {
        if (entity.SmsAllowedAt is not { } countedAt)
        {
            return;
        }

        try
        {
            await store.UpdateAsync(entity.Id, e =>
            {
                if (e.SmsAllowedAt is null || e.SmsMessageId is not null)
                {
                    return false;
                }

                // Nothing was sent with this pair: the next allowance starts a fresh one (a first-sent time that ages
                // past the provider's tracking window would make the next attempt a "maybe sent").
                e.SmsAllowedAt = null;
                e.SmsRepeatabilityRequestId = null;
                e.SmsRepeatabilityFirstSent = null;
                return true;
            }, CancellationToken.None);
            await limits.ReleaseSmsAsync(entity.PhoneIndex, entity.RegionCode, entity.Id, countedAt, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogGiveBackFailed(ex, entity.Id);
        }
    }

    /// <summary>
    /// Remembers which verification a provider's message id belongs to, after the row has it. Best effort: status
    /// webhooks carry the verification id themselves, and the index is only their fallback.
    /// </summary>
    private async Task IndexBestEffortAsync(Channel channel, string? providerMessageId, string verificationId)
    {
        if (string.IsNullOrEmpty(providerMessageId))
        {
            return;
        }

        try
        {
            await store.IndexProviderMessageAsync(channel, providerMessageId, verificationId, CancellationToken.None);
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
            ? new VerificationSnapshot(VerificationStatus.Failed, WhatsAppDeliveryStatus.None, false)
            : new VerificationSnapshot(entity.StatusValue, entity.WhatsAppStatusValue, entity.ResendRequestedAt is not null);
    }

    /// <summary>Ends a verification whose code's lifetime ran out; one that already ended keeps its status.</summary>
    public Task<VerificationStatus> ExpireAsync(EndVerificationRequest request, CancellationToken cancellationToken) =>
        EndIfPendingAsync(request, VerificationStatus.Expired, TimelineEventTypes.Expired, cancellationToken);

    /// <summary>
    /// Ends a verification that no channel could deliver. When WhatsApp did deliver the code (the SMS was only asked
    /// for, or sent because the code was not verified in time) the code still works: the SMS's failure goes on the
    /// timeline, and the verification stays pending.
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
            if (request.SettleFromRow && (entity.SmsAllowedAt is not null || entity.SmsMessageId is not null) && now < entity.ExpiresAt)
            {
                // The SMS step failed after it may have sent: as good as sent. Wait for the user.
                if (entity.HasEvent(TimelineEventTypes.SmsSent))
                {
                    return false;
                }

                entity.Append(new TimelineEvent(TimelineEventTypes.SmsSent, now, Detail: SmsOutcomeUnknown));
                return true;
            }

            if (entity.WhatsAppConfirmed && now < entity.ExpiresAt)
            {
                if (entity.HasEvent(TimelineEventTypes.SmsFailed))
                {
                    return false;
                }

                entity.Append(new TimelineEvent(TimelineEventTypes.SmsFailed, now, Detail: request.Detail));
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: an earlier WhatsApp send has no recorded outcome; failing over instead of sending twice")]
    private partial void LogOutcomeUnknown(string verificationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: the SMS send's outcome is unknown ({Detail}); counting it as sent, since the provider de-duplicates repeats")]
    private partial void LogSmsOutcomeUnknown(string verificationId, string? detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: the allowance of a refused SMS could not be given back; the limits count it until their window passes")]
    private partial void LogGiveBackFailed(Exception exception, string verificationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: its {Channel} message id could not be indexed; status reports still find it by the verification id they carry")]
    private partial void LogIndexFailed(Exception exception, string verificationId, Channel channel);

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId} ended: {Status}")]
    private partial void LogEnded(string verificationId, VerificationStatus status);
}
