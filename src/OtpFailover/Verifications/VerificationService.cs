using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpFailover.Abuse;
using OtpFailover.Callbacks;
using OtpFailover.Channels;
using OtpFailover.Codes;
using OtpFailover.PhoneNumbers;
using OtpFailover.Storage;
using OtpFailover.Telemetry;

namespace OtpFailover.Verifications;

public enum CheckOutcome
{
    NotFound,
    Approved,
    Incorrect,
    MaxAttemptsReached,
    AlreadyEnded,

    /// <summary>The number's wrong codes across its verifications reached their limit: nothing was checked.</summary>
    RateLimited,
}

public sealed record CheckResult(CheckOutcome Outcome, Verification? Verification, LimitDecision? Limit = null);

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

/// <summary>A start, as the API received it: the number already normalised and allowed by the policy.</summary>
/// <param name="ClientSubjects">The clients the start counts against (see <see cref="ClientKeys"/>): its IP address, its key, or both.</param>
/// <param name="IdempotencyKey">The caller's <c>Idempotency-Key</c>: a repeat (same number, same clients) returns the verification it started.</param>
/// <param name="CallbackUrl">Where this verification's status events go (already allowed by <see cref="CallbackUrlPolicy"/>); null: <c>Callbacks:Url</c>.</param>
/// <param name="Locale">The user's language, normalised (<see cref="Locales"/>); null: <c>Verification:DefaultLocale</c>.</param>
/// <param name="Channels">The start's own channel plan (configured channels, in the caller's order); null: by country, else <c>Verification:Channels</c>.</param>
public sealed record StartRequest(PhoneNumber PhoneNumber, string? ClientReference = null, IReadOnlyList<string>? ClientSubjects = null, string? IdempotencyKey = null, Uri? CallbackUrl = null, string? Locale = null, IReadOnlyList<Channel>? Channels = null)
{
    public IReadOnlyList<string> ClientSubjects { get; init; } = ClientSubjects ?? [];
}

public enum StartOutcome
{
    Started,

    /// <summary>A start with the same idempotency key (for the same number) started this verification earlier.</summary>
    Replayed,

    RateLimited,

    /// <summary>A start with the same idempotency key is still being made; try again in a moment.</summary>
    IdempotencyKeyInUse,
}

public sealed record StartResult(StartOutcome Outcome, Verification? Verification = null, LimitDecision? Limit = null);

/// <summary>
/// What the API does to a verification: start it, check a code, ask for the next channel, cancel it, and apply the
/// WhatsApp statuses a webhook reports. The row in the store is the truth; the orchestration is told what changed.
/// </summary>
public sealed partial class VerificationService(
    VerificationStore store,
    CodeGenerator codes,
    PhoneNumberProtector phoneNumbers,
    ClientKeys clientKeys,
    UsageLimiter limits,
    CodeChannels channels,
    ChannelPlanner planner,
    CallbackUrlPolicy callbacks,
    IOptions<VerificationOptions> options,
    IOptions<AbuseOptions> abuse,
    TimeProvider time,
    OtpFailover.Telemetry.OtpMetrics metrics,
    ILogger<VerificationService> logger)
{
    /// <summary>
    /// Starts a verification: a repeated idempotency key returns the earlier one; otherwise the limits are counted
    /// (a refusal writes nothing else), the row is stored, a verification in flight for the number is superseded,
    /// and the orchestration is scheduled.
    /// </summary>
    public async Task<StartResult> StartAsync(StartRequest request, DurableTaskClient durable, CancellationToken cancellationToken)
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
        var channelPlan = planner.For(phoneNumber.RegionCode, request.Channels);
        var entity = new VerificationEntity
        {
            PlanValue = channelPlan,
            ChannelValue = channelPlan[0],
            PartitionKey = id,
            MaskedPhoneNumber = phoneNumber.Masked,
            PhoneIndex = phoneIndex,
            PhoneCiphertext = phoneNumbers.Encrypt(phoneNumber, id),
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
                var plan = await limits.PlanStartAsync(phoneIndex, clientIndexes, id, attempt == 0 ? cancellationToken : CancellationToken.None);
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
                if (plan.PreviousHolder is { } holder && checkedHolders.Add(holder) && await store.SupersedeAsync(holder, CancellationToken.None) is { } ended)
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

                if (await limits.CommitStartAsync(plan, CancellationToken.None))
                {
                    break;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20 + (Math.Min(attempt, 40) * 5))), CancellationToken.None);
            }

            foreach (var old in superseded)
            {
                LogSuperseded(old.Id, id, old.StatusValue);
                await SignalAsync(durable, old.Id, VerificationSignal.EndedWith(old.StatusValue), CancellationToken.None);
                await NotifyCallbacksAsync(durable, old);
            }

            if (callbackUrl is not null)
            {
                // Before the workflow, so that its first wake-up finds the delivery listening.
                var callbackSettings = callbacks.Settings;
                var delivery = new CallbackDeliveryInput(id, entity.ExpiresAt + CallbackDelivery.ListenAfterExpiry, callbackSettings.RetryFor, callbackSettings.FirstRetryInterval, callbackSettings.MaximumRetryInterval);
                await durable.ScheduleNewOrchestrationInstanceAsync(CallbackDelivery.OrchestratorName, delivery, new StartOrchestrationOptions(CallbackDelivery.InstanceIdFor(id)), CancellationToken.None);
            }

            var input = new VerificationWorkflowInput(id, entity.ExpiresAt, planner.Steps(channelPlan), settings.FailoverIfUnverifiedAfter, settings.ReconcileInterval, Callbacks: callbackUrl is not null);
            await durable.ScheduleNewOrchestrationInstanceAsync(VerificationWorkflow.OrchestratorName, input, new StartOrchestrationOptions(id), CancellationToken.None);
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
            await limits.ForgetStartAsync(phoneIndex, clientIndexes, id);
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
            if (callbacksScheduled && await durable.GetInstanceAsync(CallbackDelivery.InstanceIdFor(id), bounded.Token) is { IsCompleted: false })
            {
                await durable.TerminateInstanceAsync(CallbackDelivery.InstanceIdFor(id), "start_failed", bounded.Token);
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

    public async Task<Verification?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var entity = await store.FindAsync(id, cancellationToken);
        return entity?.ToVerification();
    }

    /// <summary>
    /// Checks a code. Every wrong code counts one attempt, exactly, however many checks run in parallel; the last
    /// allowed wrong code ends the verification, and nothing approves it after that. A verification carries its share
    /// of its number's budget of wrong codes across all its verifications (<see cref="AbuseOptions.FailedChecksPerNumber"/>):
    /// the number's wrong codes when it started, plus its own. When that is spent, every check is refused, right code
    /// or wrong (a different answer would tell a guesser which guess was right). The gate is judged inside the same
    /// ETag-guarded write as the attempt, so racing checks can never take more guesses than are left. A wrong code is
    /// recorded against the number first; a right code reads the number's row (so wrong codes of a burst still on their
    /// way count against it too) and writes only its verification's row.
    /// </summary>
    public async Task<CheckResult> CheckAsync(string id, string code, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var result = await CheckCoreAsync(id, code, durable, cancellationToken);
        metrics.Checked(result.Outcome);
        if (result.Outcome == CheckOutcome.RateLimited)
        {
            metrics.Refused(result.Limit?.Limit);
        }

        return result;
    }

    private async Task<CheckResult> CheckCoreAsync(string id, string code, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(code);
        var current = await store.FindAsync(id, cancellationToken);
        if (current is null)
        {
            return new CheckResult(CheckOutcome.NotFound, null);
        }

        using var span = VerificationTracing.StartStep("otpfailover.verification.check", id, current.TraceParent);
        var budget = abuse.Value.FailedChecksPerNumber;
        var live = current.IsPending && time.GetUtcNow() < current.ExpiresAt;
        if (live && Spent(current, budget))
        {
            return await RefuseCheckAsync(current, cancellationToken);
        }

        var matches = codes.Matches(id, current.CodeLength, code);
        if (matches && live && budget.IsOn)
        {
            // The row does not see wrong codes of a burst still on their way to it; the number's row does. Every guess
            // recorded before this read fits the budget, so a right code that passes it was among the allowed guesses.
            var gate = await limits.CheckFailedChecksAsync(current.PhoneIndex, cancellationToken);
            if (!gate.Allowed)
            {
                LogCheckRefused(id, gate.Setting);
                return new CheckResult(CheckOutcome.RateLimited, current.ToVerification(), gate);
            }
        }

        var checkId = Guid.NewGuid().ToString("N");
        var recorded = false;
        var outcome = CheckOutcome.NotFound;
        try
        {
            if (!matches && live && budget.IsOn)
            {
                // A wrong code goes into the number's budget first, so that a start reading the number now sees it.
                recorded = true;
                var place = await limits.TryRecordFailedCheckAsync(current.PhoneIndex, checkId, cancellationToken);
                if (!place.Allowed)
                {
                    recorded = false;
                    LogCheckRefused(id, place.Setting);
                    return new CheckResult(CheckOutcome.RateLimited, current.ToVerification(), place);
                }
            }

            var result = await UpdateForCheckAsync(current, matches, budget, o => outcome = o, cancellationToken);
            if (result is not { } updated)
            {
                return new CheckResult(CheckOutcome.NotFound, null);
            }

            if (outcome == CheckOutcome.RateLimited)
            {
                return await RefuseCheckAsync(updated.Entity, cancellationToken);
            }

            LogChecked(id, outcome, updated.Entity.AttemptsUsed);
            if (updated.Changed && !updated.Entity.IsPending)
            {
                await SignalAsync(durable, id, VerificationSignal.EndedWith(updated.Entity.StatusValue), CancellationToken.None);
                await NotifyCallbacksAsync(durable, updated.Entity);
            }

            return new CheckResult(outcome, updated.Entity.ToVerification());
        }
        finally
        {
            // A wrong code that did not count on its verification (it ended first, the budget was spent by a racing
            // check, or the check failed half way) takes its record back; that is idempotent and never throws.
            if (recorded && outcome is not (CheckOutcome.Incorrect or CheckOutcome.MaxAttemptsReached))
            {
                await limits.ForgetFailedCheckAsync(current.PhoneIndex, checkId);
            }
        }
    }

    private static bool Spent(VerificationEntity entity, RateLimitRule budget) =>
        budget.IsOn && entity.FailedChecksBefore + entity.AttemptsUsed >= budget.Limit;

    private async Task<CheckResult> RefuseCheckAsync(VerificationEntity entity, CancellationToken cancellationToken)
    {
        var refusal = await limits.RefuseFailedChecksAsync(entity.PhoneIndex, cancellationToken);
        LogCheckRefused(entity.Id, refusal.Setting);
        return new CheckResult(CheckOutcome.RateLimited, entity.ToVerification(), refusal);
    }

    private Task<(VerificationEntity Entity, bool Changed)?> UpdateForCheckAsync(VerificationEntity current, bool matches, RateLimitRule budget, Action<CheckOutcome> report, CancellationToken cancellationToken) =>
        store.UpdateAsync(current, entity =>
        {
            var now = time.GetUtcNow();
            if (!entity.IsPending)
            {
                report(CheckOutcome.AlreadyEnded);
                return false;
            }

            if (now >= entity.ExpiresAt)
            {
                report(CheckOutcome.AlreadyEnded);
                entity.End(VerificationStatus.Expired, TimelineEventTypes.Expired, now);
                return true;
            }

            if (Spent(entity, budget))
            {
                report(CheckOutcome.RateLimited);
                return false;
            }

            if (matches)
            {
                report(CheckOutcome.Approved);
                entity.End(VerificationStatus.Approved, TimelineEventTypes.Approved, now, detail: WireNames.Of(entity.ChannelValue));
                return true;
            }

            entity.AttemptsUsed++;
            entity.Append(new TimelineEvent(TimelineEventTypes.CheckFailed, now));
            if (entity.AttemptsUsed >= entity.MaxAttempts)
            {
                report(CheckOutcome.MaxAttemptsReached);
                entity.End(VerificationStatus.MaxAttemptsReached, TimelineEventTypes.MaxAttemptsReached, now);
            }
            else
            {
                report(CheckOutcome.Incorrect);
            }

            return true;
        }, cancellationToken);

    /// <summary>
    /// Sends the code on the plan's next channel now (the user asked for another way). Refused when the verification
    /// is on its plan's last channel, when the next channel has no provider, when a resend was asked for already and
    /// not yet acted on, and when the next channel is metered and a message now would exceed the number's SMS limit or
    /// its region's budget. When the orchestration cannot be told, the request is taken back, so the verification
    /// never claims a send that nobody will make.
    /// </summary>
    public async Task<ChangeResult> ResendAsync(string id, DurableTaskClient durable, CancellationToken cancellationToken)
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

        if (NextChannelFor(current) is not { } next)
        {
            return new ChangeResult(ChangeOutcome.NoChannelLeft, current.ToVerification());
        }

        if (channels.For(next).Metered)
        {
            var limit = await limits.CheckSmsAsync(current.PhoneIndex, current.RegionCode, cancellationToken);
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

            if (NextChannelFor(entity) != next)
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

        if (updated.Changed && !await SignalAsync(durable, id, VerificationSignal.Resend, CancellationToken.None))
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

    /// <summary>
    /// The channel a resend would move to: none when the verification is on its plan's last channel, when a resend is
    /// asked for already, or when the next channel has no provider.
    /// </summary>
    private Channel? NextChannelFor(VerificationEntity entity) =>
        entity.ResendRequestedAt is null && entity.NextChannel() is { } next && channels.For(next).IsConfigured ? next : null;

    /// <summary>Cancels a pending verification; canceling a canceled one again is done already.</summary>
    public async Task<ChangeResult> CancelAsync(string id, DurableTaskClient durable, CancellationToken cancellationToken)
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
            await SignalAsync(durable, id, VerificationSignal.EndedWith(VerificationStatus.Canceled), CancellationToken.None);
            await NotifyCallbacksAsync(durable, updated.Entity);
        }

        return new ChangeResult(outcome, updated.Entity.ToVerification());
    }

    /// <summary>
    /// Records a channel's delivery status and tells the orchestration. Statuses only move forward (sent, delivered,
    /// read; failed only before delivery): a duplicate, stale or out-of-order status changes nothing. A status that
    /// arrives after the verification ended is still recorded, but nothing acts on it. A failure of the plan's last
    /// channel ends a pending verification <c>failed</c> when no channel delivered the code.
    /// </summary>
    public async Task<StatusUpdateOutcome> ApplyDeliveryAsync(string id, Channel channel, DeliveryStatus status, DateTimeOffset at, string? detail, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var began = DateTimeOffset.UtcNow;
        var previous = DeliveryStatus.None;
        var endedHere = false;
        var result = await store.UpdateAsync(id, entity =>
        {
            endedHere = false;
            if (entity.SendOn(channel) is not { } send)
            {
                return false; // nothing was sent on this channel
            }

            previous = send.Delivery;
            if (!IsAdvance(previous, status))
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
            if (status == DeliveryStatus.Failed && entity.IsPending && entity.NextChannel() is null
                && entity.ReadSends() is [.., var last] && (last.Delivery == DeliveryStatus.Failed || last.State == ChannelSendState.Refused)
                && !entity.AnotherChannelMayHaveReached(last.Channel, channels.ReportsDelivery))
            {
                entity.End(VerificationStatus.Failed, TimelineEventTypes.Failed, time.GetUtcNow(), detail: NoChannelDelivered);
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
                await SignalAsync(durable, id, VerificationSignal.EndedWith(VerificationStatus.Failed), CancellationToken.None);
            }
            else if (entity.IsPending && WakesTheWorkflow(channels.For(channel).ConfirmedBy, previous, status))
            {
                await SignalAsync(durable, id, VerificationSignal.ForDelivery(channel, status), CancellationToken.None);
            }

            await NotifyCallbacksAsync(durable, entity);
        }

        return outcome;
    }

    /// <summary>
    /// Only a failure and the first status that confirms delivery (by <paramref name="rule"/>) change what the
    /// orchestration does. Any other status goes on the timeline but would only cost the orchestration a turn, a queue
    /// message and history rows: <c>read</c> after <c>delivered</c> when delivered confirms, <c>delivered</c> when only
    /// <c>read</c> does. (<c>sent</c> is recorded by the send itself.)
    /// </summary>
    internal static bool WakesTheWorkflow(FailoverWhen rule, DeliveryStatus previous, DeliveryStatus next) =>
        next == DeliveryStatus.Failed || (rule.IsConfirmedBy(next) && !rule.IsConfirmedBy(previous));

    /// <summary>The detail of a verification that ended because no channel could deliver the code.</summary>
    public const string NoChannelDelivered = "no_channel_delivered";

    private static StatusUpdateOutcome OutcomeOf((VerificationEntity Entity, bool Changed)? result) => result switch
    {
        null => StatusUpdateOutcome.NotFound,
        { Changed: false } => StatusUpdateOutcome.Unchanged,
        _ => StatusUpdateOutcome.Applied,
    };

    internal static bool IsAdvance(DeliveryStatus current, DeliveryStatus next) => (current, next) switch
    {
        (DeliveryStatus.Failed, _) => false,
        (_, DeliveryStatus.None) => false,
        (_, DeliveryStatus.Failed) => current <= DeliveryStatus.Sent,
        _ => next > current,
    };

    private async Task<bool> SignalAsync(DurableTaskClient durable, string id, VerificationSignal signal, CancellationToken cancellationToken)
    {
        try
        {
            await durable.RaiseEventAsync(id, VerificationWorkflow.SignalEventName, signal, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The row is already right; a lost signal only means the orchestration acts on its next timer instead.
            LogSignalFailed(ex, id, signal.Kind);
            return false;
        }
    }

    /// <summary>
    /// Wakes the verification's callback delivery when the write that left <paramref name="row"/> recorded an event its
    /// receiver should hear about. Best effort: a lost wake-up only delays the event until the delivery's last look.
    /// </summary>
    private async Task NotifyCallbacksAsync(DurableTaskClient durable, VerificationEntity row)
    {
        if (!CallbackEvents.EndsWithCallbackEvent(row))
        {
            return;
        }

        try
        {
            await durable.RaiseEventAsync(CallbackDelivery.InstanceIdFor(row.Id), CallbackDelivery.KickEventName, true, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCallbackWakeFailed(ex, row.Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: could not wake its callback delivery; it delivers at its next look")]
    private partial void LogCallbackWakeFailed(Exception exception, string verificationId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId} started for {PhoneNumber}, expires {ExpiresAt:o}")]
    private partial void LogStarted(string verificationId, string phoneNumber, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId} ended ({Status}): superseded by {NewVerificationId}")]
    private partial void LogSuperseded(string verificationId, string newVerificationId, VerificationStatus status);

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: check refused by {Setting}")]
    private partial void LogCheckRefused(string verificationId, string? setting);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: resend refused by {Setting}")]
    private partial void LogResendRefused(string verificationId, string? setting);

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId} checked: {Outcome} ({AttemptsUsed} attempts used)")]
    private partial void LogChecked(string verificationId, CheckOutcome outcome, int attemptsUsed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: could not signal the orchestration ({Signal})")]
    private partial void LogSignalFailed(Exception exception, string verificationId, SignalKind signal);
}
