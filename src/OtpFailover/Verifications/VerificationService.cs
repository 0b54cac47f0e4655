using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpFailover.Codes;
using OtpFailover.PhoneNumbers;
using OtpFailover.Storage;

namespace OtpFailover.Verifications;

public enum CheckOutcome
{
    NotFound,
    Approved,
    Incorrect,
    MaxAttemptsReached,
    AlreadyEnded,
}

public sealed record CheckResult(CheckOutcome Outcome, Verification? Verification);

public enum ChangeOutcome
{
    NotFound,
    Done,
    AlreadyEnded,
    NoChannelLeft,
}

public sealed record ChangeResult(ChangeOutcome Outcome, Verification? Verification);

public enum StatusUpdateOutcome
{
    /// <summary>Recorded, and the orchestration told (when the verification is still pending).</summary>
    Applied,

    /// <summary>A duplicate, stale or out-of-order status: nothing changed.</summary>
    Unchanged,

    /// <summary>No such verification.</summary>
    NotFound,
}

public sealed record StartResult(Verification? Started, string? VerificationInFlight);

/// <summary>
/// What the API does to a verification: start it, check a code, ask for the next channel, cancel it, and apply the
/// WhatsApp statuses a webhook reports. The row in the store is the truth; the orchestration is told what changed.
/// </summary>
public sealed partial class VerificationService(
    VerificationStore store,
    CodeGenerator codes,
    PhoneNumberProtector phoneNumbers,
    IOptions<VerificationOptions> options,
    TimeProvider time,
    ILogger<VerificationService> logger)
{
    public async Task<StartResult> StartAsync(PhoneNumber phoneNumber, string? clientReference, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(phoneNumber);
        ArgumentNullException.ThrowIfNull(durable);
        var settings = options.Value;
        var id = VerificationIds.New();
        var now = time.GetUtcNow();
        var entity = new VerificationEntity
        {
            PartitionKey = id,
            MaskedPhoneNumber = phoneNumber.Masked,
            PhoneIndex = phoneNumbers.Index(phoneNumber),
            PhoneCiphertext = phoneNumbers.Encrypt(phoneNumber, id),
            ClientReference = clientReference,
            CodeLength = settings.CodeLength,
            MaxAttempts = settings.MaxCheckAttempts,
            CreatedAt = now,
            ExpiresAt = now + settings.CodeLifetime,
        };
        entity.Append(new TimelineEvent(TimelineEventTypes.Created, now));

        var inFlight = await store.CreateAsync(entity, cancellationToken);
        if (inFlight is not null)
        {
            LogInFlight(inFlight, phoneNumber.Masked);
            return new StartResult(null, inFlight);
        }

        var input = new VerificationWorkflowInput(id, entity.ExpiresAt, settings.WhatsAppDeliveryTimeout, settings.FailoverWhen, settings.FailoverIfUnverifiedAfter);
        try
        {
            await durable.ScheduleNewOrchestrationInstanceAsync(VerificationWorkflow.OrchestratorName, input, new StartOrchestrationOptions(id), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Without an orchestration nothing would ever be sent: end the verification so the number is free again.
            await store.UpdateAsync(id, e =>
            {
                e.End(VerificationStatus.Failed, TimelineEventTypes.Failed, time.GetUtcNow(), detail: "orchestration_not_started");
                return true;
            }, CancellationToken.None);
            throw;
        }

        LogStarted(id, phoneNumber.Masked, entity.ExpiresAt);
        return new StartResult(entity.ToVerification(), null);
    }

    public async Task<Verification?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var entity = await store.FindAsync(id, cancellationToken);
        return entity?.ToVerification();
    }

    /// <summary>
    /// Checks a code. Every wrong code counts one attempt, exactly, however many checks run in parallel; the last
    /// allowed wrong code ends the verification, and nothing approves it after that.
    /// </summary>
    public async Task<CheckResult> CheckAsync(string id, string code, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(code);
        var outcome = CheckOutcome.NotFound;
        var result = await store.UpdateAsync(id, entity =>
        {
            var now = time.GetUtcNow();
            if (!entity.IsPending)
            {
                outcome = CheckOutcome.AlreadyEnded;
                return false;
            }

            if (now >= entity.ExpiresAt)
            {
                outcome = CheckOutcome.AlreadyEnded;
                entity.End(VerificationStatus.Expired, TimelineEventTypes.Expired, now);
                return true;
            }

            if (codes.Matches(id, entity.CodeLength, code))
            {
                outcome = CheckOutcome.Approved;
                entity.End(VerificationStatus.Approved, TimelineEventTypes.Approved, now, detail: WireNames.Of(entity.ChannelValue));
                return true;
            }

            entity.AttemptsUsed++;
            entity.Append(new TimelineEvent(TimelineEventTypes.CheckFailed, now));
            outcome = CheckOutcome.Incorrect;
            if (entity.AttemptsUsed >= entity.MaxAttempts)
            {
                outcome = CheckOutcome.MaxAttemptsReached;
                entity.End(VerificationStatus.MaxAttemptsReached, TimelineEventTypes.MaxAttemptsReached, now);
            }

            return true;
        }, cancellationToken);

        if (result is not { } updated)
        {
            return new CheckResult(CheckOutcome.NotFound, null);
        }

        LogChecked(id, outcome, updated.Entity.AttemptsUsed);
        if (updated.Changed && !updated.Entity.IsPending)
        {
            await SignalAsync(durable, id, VerificationSignal.EndedWith(updated.Entity.StatusValue), cancellationToken);
        }

        return new CheckResult(outcome, updated.Entity.ToVerification());
    }

    /// <summary>Sends the code on the next channel now (the user asked for an SMS instead).</summary>
    public async Task<ChangeResult> ResendAsync(string id, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var outcome = ChangeOutcome.NotFound;
        var result = await store.UpdateAsync(id, entity =>
        {
            if (!entity.IsPending || time.GetUtcNow() >= entity.ExpiresAt)
            {
                outcome = ChangeOutcome.AlreadyEnded;
                return false;
            }

            if (entity.ChannelValue == Channel.Sms || entity.ResendRequestedAt is not null)
            {
                outcome = ChangeOutcome.NoChannelLeft;
                return false;
            }

            outcome = ChangeOutcome.Done;
            entity.ResendRequestedAt = time.GetUtcNow();
            return true;
        }, cancellationToken);

        if (result is not { } updated)
        {
            return new ChangeResult(ChangeOutcome.NotFound, null);
        }

        if (updated.Changed)
        {
            await SignalAsync(durable, id, VerificationSignal.Resend, cancellationToken);
        }

        return new ChangeResult(outcome, updated.Entity.ToVerification());
    }

    /// <summary>Cancels a pending verification; canceling a canceled one again is done already.</summary>
    public async Task<ChangeResult> CancelAsync(string id, DurableTaskClient durable, CancellationToken cancellationToken)
    {
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

        if (updated.Changed)
        {
            await SignalAsync(durable, id, VerificationSignal.EndedWith(VerificationStatus.Canceled), cancellationToken);
        }

        return new ChangeResult(outcome, updated.Entity.ToVerification());
    }

    /// <summary>
    /// Records a WhatsApp status and tells the orchestration. Statuses only move forward (sent, delivered, read;
    /// failed only before delivery): a duplicate, stale or out-of-order status changes nothing and returns false.
    /// A status that arrives after the verification ended is still recorded, but nothing acts on it.
    /// </summary>
    public async Task<StatusUpdateOutcome> ApplyWhatsAppStatusAsync(string id, WhatsAppDeliveryStatus status, DateTimeOffset at, string? detail, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var result = await store.UpdateAsync(id, entity =>
        {
            if (!IsAdvance(entity.WhatsAppStatusValue, status))
            {
                return false;
            }

            entity.WhatsAppStatusValue = status;
            var eventType = status switch
            {
                WhatsAppDeliveryStatus.Sent => TimelineEventTypes.WhatsAppSent,
                WhatsAppDeliveryStatus.Delivered => TimelineEventTypes.WhatsAppDelivered,
                WhatsAppDeliveryStatus.Read => TimelineEventTypes.WhatsAppRead,
                _ => TimelineEventTypes.WhatsAppFailed,
            };
            if (!entity.HasEvent(eventType))
            {
                entity.Append(new TimelineEvent(eventType, at, Detail: detail));
            }

            return true;
        }, cancellationToken);

        var outcome = OutcomeOf(result);
        if (outcome == StatusUpdateOutcome.Applied && result!.Value.Entity.IsPending)
        {
            await SignalAsync(durable, id, VerificationSignal.ForWhatsAppStatus(status), cancellationToken);
        }

        return outcome;
    }

    /// <summary>
    /// Records an SMS delivery report (the first one counts; later ones change nothing). A failed SMS ends a pending
    /// verification <c>failed</c> when no channel delivered the code: WhatsApp did not confirm delivery either.
    /// </summary>
    public async Task<StatusUpdateOutcome> ApplySmsDeliveryReportAsync(string id, bool delivered, DateTimeOffset at, string? detail, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var result = await store.UpdateAsync(id, entity =>
        {
            if (entity.SmsDeliveryStatus != "None")
            {
                return false;
            }

            entity.SmsDeliveryStatus = delivered ? "Delivered" : "Failed";
            entity.Append(new TimelineEvent(delivered ? TimelineEventTypes.SmsDelivered : TimelineEventTypes.SmsFailed, at, Detail: detail));
            if (!delivered && entity.IsPending && entity.WhatsAppStatusValue is not (WhatsAppDeliveryStatus.Delivered or WhatsAppDeliveryStatus.Read))
            {
                entity.End(VerificationStatus.Failed, TimelineEventTypes.Failed, time.GetUtcNow(), detail: "no_channel_delivered");
            }

            return true;
        }, cancellationToken);

        var outcome = OutcomeOf(result);
        if (outcome == StatusUpdateOutcome.Applied && result!.Value.Entity.StatusValue == VerificationStatus.Failed)
        {
            await SignalAsync(durable, id, VerificationSignal.EndedWith(VerificationStatus.Failed), cancellationToken);
        }

        return outcome;
    }

    private static StatusUpdateOutcome OutcomeOf((VerificationEntity Entity, bool Changed)? result) => result switch
    {
        null => StatusUpdateOutcome.NotFound,
        { Changed: false } => StatusUpdateOutcome.Unchanged,
        _ => StatusUpdateOutcome.Applied,
    };

    internal static bool IsAdvance(WhatsAppDeliveryStatus current, WhatsAppDeliveryStatus next) => (current, next) switch
    {
        (WhatsAppDeliveryStatus.Failed, _) => false,
        (_, WhatsAppDeliveryStatus.None) => false,
        (_, WhatsAppDeliveryStatus.Failed) => current <= WhatsAppDeliveryStatus.Sent,
        _ => next > current,
    };

    private async Task SignalAsync(DurableTaskClient durable, string id, VerificationSignal signal, CancellationToken cancellationToken)
    {
        try
        {
            await durable.RaiseEventAsync(id, VerificationWorkflow.SignalEventName, signal, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The row is already right; a lost signal only means the orchestration acts on its next timer instead.
            LogSignalFailed(ex, id, signal.Kind);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId} started for {PhoneNumber}, expires {ExpiresAt:o}")]
    private partial void LogStarted(string verificationId, string phoneNumber, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId} is already in flight for {PhoneNumber}")]
    private partial void LogInFlight(string verificationId, string phoneNumber);

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId} checked: {Outcome} ({AttemptsUsed} attempts used)")]
    private partial void LogChecked(string verificationId, CheckOutcome outcome, int attemptsUsed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: could not signal the orchestration ({Signal})")]
    private partial void LogSignalFailed(Exception exception, string verificationId, SignalKind signal);
}
