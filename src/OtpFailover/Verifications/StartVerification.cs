using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpFailover.Abuse;
using OtpFailover.Callbacks;
using OtpFailover.Channels;
using OtpFailover.EmailAddresses;
using OtpFailover.PhoneNumbers;
using OtpFailover.Telemetry;

namespace OtpFailover.Verifications;

/// <summary>
/// Starts a verification: a repeated idempotency key returns the earlier one; otherwise the limits are counted (a
/// refusal writes nothing else), the row is stored, the verification in flight for the number is superseded, and the
/// workflow (and the callback delivery, when there is a callback URL) is scheduled.
/// </summary>
public sealed partial class StartVerification(
    VerificationStore store,
    PhoneNumberProtector phoneNumbers,
    EmailAddressProtector emailAddresses,
    ClientKeys clientKeys,
    StartAdmission admission,
    OnePendingPerNumber pending,
    ChannelPlanner planner,
    CallbackUrlPolicy callbacks,
    IOptions<VerificationOptions> options,
    TimeProvider time,
    OtpMetrics metrics,
    ILogger<StartVerification> logger)
{
    /// <summary>
    /// Starts a verification: a repeated idempotency key returns the earlier one; otherwise the limits are counted
    /// (a refusal writes nothing else), the row is stored, a verification in flight for the number is superseded,
    /// and the orchestration is scheduled.
    /// </summary>
    public async Task<StartResult> RunAsync(StartRequest request, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var result = await StartCoreAsync(request, durable, cancellationToken);
        if (result.Outcome == StartOutcome.Started)
        {
            metrics.Started();
        }
        else if (result.Outcome == StartOutcome.RateLimited)
        {
            metrics.Refused(result.Limit?.Limit);
        }

        return result;
    }

    private async Task<StartResult> StartCoreAsync(StartRequest request, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(durable);
        var settings = options.Value;
        var phoneNumber = request.PhoneNumber;
        var id = VerificationIds.New();
        using var trace = VerificationTracing.StartVerification(id);
        var now = time.GetUtcNow();
        var phoneIndex = phoneNumbers.Index(phoneNumber);
        var callbackUrl = callbacks.Resolve(request.CallbackUrl);

        var keyIndex = request.IdempotencyKey is { } key ? clientKeys.IdempotencyKeyIndex(key, request.ClientSubjects) : null;
        if (keyIndex is not null)
        {
            var claim = await store.ClaimIdempotencyKeyAsync(phoneIndex, keyIndex, id, now + settings.CodeLifetime, heldId => IsAbandonedAsync(heldId, durable), cancellationToken);
            if (!claim.Claimed)
            {
                var earlier = await store.FindAsync(claim.VerificationId, cancellationToken);
                LogReplayed(claim.VerificationId, earlier is not null);
                return earlier is null
                    ? new StartResult(StartOutcome.IdempotencyKeyInUse)
                    : new StartResult(StartOutcome.Replayed, earlier.ToVerification());
            }
        }

        var clientIndexes = request.ClientSubjects.Select(clientKeys.Index).ToList();
        var channelPlan = planner.For(phoneNumber.RegionCode, request.Channels, hasEmail: request.Email is not null);
        var entity = new VerificationEntity
        {
            PlanValue = channelPlan,
            ChannelValue = channelPlan[0],
            PartitionKey = id,
            MaskedPhoneNumber = phoneNumber.Masked,
            PhoneIndex = phoneIndex,
            PhoneCiphertext = phoneNumbers.Encrypt(phoneNumber, id),
            EmailIndex = request.Email is { } email ? emailAddresses.Index(email) : null,
            EmailCiphertext = request.Email is { } sealedEmail ? emailAddresses.Encrypt(sealedEmail, id) : null,
            MaskedEmail = request.Email?.Masked,
            RegionCode = phoneNumber.RegionCode,
            ClientReference = request.ClientReference,
            CallbackUrl = callbackUrl?.AbsoluteUri,
            Locale = request.Locale ?? (Locales.TryNormalize(settings.DefaultLocale, out var defaultLocale) ? defaultLocale : Locales.Default),
            TraceParent = trace.TraceParent,
            CodeLength = settings.CodeLength,
            MaxAttempts = settings.MaxCheckAttempts,
            CreatedAt = now,
            ExpiresAt = now + settings.CodeLifetime,
        };
        entity.Append(new TimelineEvent(TimelineEventTypes.Created, now));

        var superseded = new List<VerificationEntity>();
        var stored = false;
        try
        {
            // Judge, supersede the verification in flight, store, and record the start (its commit point is one
            // ETag-guarded write of the number's row); judged again whenever a row changed in between. Once anything
            // is written, the start finishes even when the caller gives up, or it is undone.
            var checkedHolders = new HashSet<string>(StringComparer.Ordinal);
            for (var attempt = 0; ; attempt++)
            {
                var plan = await admission.PlanStartAsync(phoneIndex, clientIndexes, id, attempt == 0 ? cancellationToken : CancellationToken.None);
                if (!plan.Decision.Allowed)
                {
                    if (stored)
                    {
                        await store.DeleteAsync(id, CancellationToken.None);
                    }

                    if (keyIndex is not null)
                    {
                        await store.ReleaseIdempotencyKeyAsync(phoneIndex, keyIndex, id, CancellationToken.None);
                    }

                    LogStartRefused(phoneNumber.Masked, plan.Decision.Setting);
                    return new StartResult(StartOutcome.RateLimited, Limit: plan.Decision);
                }

                // The verification in flight ends before this one may become the number's: whoever commits last
                // has ended every one before it, so at most one is ever pending.
                if (plan.PreviousHolder is { } holder && checkedHolders.Add(holder) && await pending.SupersedeAsync(holder, CancellationToken.None) is { } ended)
                {
                    superseded.Add(ended);
                }

                if (!stored)
                {
                    entity.FailedChecksBefore = plan.FailedChecksBefore;
                    await store.InsertAsync(entity, CancellationToken.None);
                    stored = true;
                }
                else if (entity.FailedChecksBefore != plan.FailedChecksBefore)
                {
                    entity.FailedChecksBefore = plan.FailedChecksBefore;
                    await store.SetFailedChecksBeforeAsync(id, plan.FailedChecksBefore, CancellationToken.None);
                }

                if (await admission.CommitStartAsync(plan, CancellationToken.None))
                {
                    break;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20 + (Math.Min(attempt, 40) * 5))), CancellationToken.None);
            }

            await pending.AnnounceAsync(superseded, id, durable);

            if (callbackUrl is not null)
            {
                // Before the workflow, so that its first wake-up finds the delivery listening.
                var callbackSettings = callbacks.Settings;
                var delivery = new CallbackDeliveryInput(id, entity.ExpiresAt + Workflows.CallbacksListenAfterExpiry, callbackSettings.RetryFor, callbackSettings.FirstRetryInterval, callbackSettings.MaximumRetryInterval);
                await durable.ScheduleNewOrchestrationInstanceAsync(Workflows.CallbackOrchestrator, delivery, new StartOrchestrationOptions(Workflows.CallbackInstanceIdFor(id)), CancellationToken.None);
            }

            var input = new VerificationWorkflowInput(id, entity.ExpiresAt, planner.Steps(channelPlan), settings.FailoverIfUnverifiedAfter, settings.ReconcileInterval, Callbacks: callbackUrl is not null);
            await durable.ScheduleNewOrchestrationInstanceAsync(Workflows.VerificationOrchestrator, input, new StartOrchestrationOptions(id), CancellationToken.None);
        }
        catch (Exception ex)
        {
            // Without an orchestration nothing would ever be sent: end the verification (the number is free again),
            // give the idempotency key back (a retry with it starts afresh) and take the start out of the limits.
            LogStartFailed(ex, id);
            await UndoStartAsync(id, phoneIndex, clientIndexes, keyIndex, durable, callbackUrl is not null);
            throw;
        }

        LogStarted(id, phoneNumber.Masked, entity.ExpiresAt);
        return new StartResult(StartOutcome.Started, entity.ToVerification());
    }

    private async Task UndoStartAsync(string id, string phoneIndex, IReadOnlyList<string> clientIndexes, string? keyIndex, DurableTaskClient durable, bool callbacksScheduled)
    {
        try
        {
            await store.UpdateAsync(id, e =>
            {
                if (!e.IsPending)
                {
                    return false;
                }

                e.End(VerificationStatus.Failed, TimelineEventTypes.Failed, time.GetUtcNow(), detail: "orchestration_not_started");
                return true;
            }, CancellationToken.None);
            await admission.ForgetStartAsync(phoneIndex, clientIndexes, id);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogUndoFailed(ex, id);
        }

        try
        {
            // The caller was told the start failed and never saw the id: its receiver has nothing to hear about.
            // Bounded: a start most likely failed because the durable store is down, and the caller is waiting.
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            if (callbacksScheduled && await durable.GetInstanceAsync(Workflows.CallbackInstanceIdFor(id), bounded.Token) is { IsCompleted: false })
            {
                await durable.TerminateInstanceAsync(Workflows.CallbackInstanceIdFor(id), "start_failed", bounded.Token);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogUndoFailed(ex, id);
        }

        if (keyIndex is not null)
        {
            await store.ReleaseIdempotencyKeyAsync(phoneIndex, keyIndex, id, CancellationToken.None);
        }
    }

    /// <summary>
    /// Whether the start an idempotency key is bound to never finished: its verification is missing, or still pending
    /// with no orchestration behind it (the process was killed between storing it and scheduling it).
    /// </summary>
    private async Task<bool> IsAbandonedAsync(string verificationId, DurableTaskClient durable)
    {
        var held = await store.FindAsync(verificationId);
        if (held is null)
        {
            return true;
        }

        try
        {
            if (!held.IsPending || await durable.GetInstanceAsync(verificationId) is not null)
            {
                return false;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogAbandonCheckFailed(ex, verificationId);
            return false; // cannot tell now: the key stays bound, and the caller is told to try again
        }

        await store.UpdateAsync(held, e =>
        {
            if (!e.IsPending)
            {
                return false;
            }

            e.End(VerificationStatus.Failed, TimelineEventTypes.Failed, time.GetUtcNow(), detail: "orchestration_not_started");
            return true;
        });
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId} started for {PhoneNumber}, expires {ExpiresAt:o}")]
    private partial void LogStarted(string verificationId, string phoneNumber, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId} returned again for a repeated Idempotency-Key (found: {Found})")]
    private partial void LogReplayed(string verificationId, bool found);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: could not tell whether its start was abandoned")]
    private partial void LogAbandonCheckFailed(Exception exception, string verificationId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Verification {VerificationId} could not be started; it is undone")]
    private partial void LogStartFailed(Exception exception, string verificationId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Verification {VerificationId}: a start that failed could not be fully undone")]
    private partial void LogUndoFailed(Exception exception, string verificationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Start for {PhoneNumber} refused by {Setting}")]
    private partial void LogStartRefused(string phoneNumber, string? setting);
}
