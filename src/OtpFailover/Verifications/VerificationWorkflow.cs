using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using OtpFailover.Channels;

namespace OtpFailover.Verifications;

/// <summary>
/// The orchestration's input. It names the verification and carries its channel plan and the timings (so a test can
/// use seconds); it never carries the code or the phone number, which the activities read from the store.
/// </summary>
/// <param name="Plan">The channels in the order they are tried, each with what confirms it and how long to wait for that.</param>
/// <param name="ReconcileInterval">
/// While the workflow waits on a channel with no deadline (delivery confirmed and the user not yet verified, or a
/// channel with no confirmation wait), how often it reads the row anyway: a signal can be late after a crash (a resend
/// the user asked for must not wait minutes for it). Null: never.
/// </param>
/// <param name="Callbacks">The verification has a callback delivery to wake after each step (see <see cref="Callbacks.CallbackDelivery"/>).</param>
public sealed record VerificationWorkflowInput(
    string VerificationId,
    DateTimeOffset ExpiresAt,
    IReadOnlyList<PlannedChannel> Plan,
    TimeSpan? FailoverIfUnverifiedAfter,
    TimeSpan? ReconcileInterval = null,
    bool Callbacks = false);

/// <summary>One channel's delivery status as the row has it.</summary>
public sealed record ChannelDelivery(Channel Channel, DeliveryStatus Delivery);

/// <summary>What the row says now, for the workflow to act on instead of a signal that may be late or lost.</summary>
public sealed record VerificationSnapshot(VerificationStatus Status, bool ResendRequested, IReadOnlyList<ChannelDelivery> Deliveries)
{
    public DeliveryStatus DeliveryOf(Channel channel) => Deliveries.FirstOrDefault(d => d.Channel == channel)?.Delivery ?? DeliveryStatus.None;
}

public enum SignalKind
{
    /// <summary>A channel's provider reported a new delivery status for the message.</summary>
    Delivery,

    /// <summary>The caller asked for the next channel.</summary>
    ResendRequested,

    /// <summary>The verification ended (approved, canceled, max attempts); the store already says so.</summary>
    Ended,
}

/// <summary>The one external event the orchestration listens to. It carries no code and no phone number.</summary>
public sealed record VerificationSignal(SignalKind Kind, Channel? Channel = null, DeliveryStatus? Delivery = null, VerificationStatus? Status = null)
{
    public static VerificationSignal ForDelivery(Channel channel, DeliveryStatus status) => new(SignalKind.Delivery, channel, status);

    public static VerificationSignal Resend { get; } = new(SignalKind.ResendRequested);

    public static VerificationSignal EndedWith(VerificationStatus status) => new(SignalKind.Ended, Status: status);
}

/// <summary>
/// What the send activity did. <see cref="Status"/> is the verification's status after it. <see cref="Unknown"/>: the
/// code may have gone out or not (the activity itself failed after its retries, or a provider that cannot de-duplicate
/// left no outcome).
/// </summary>
/// <param name="TryAgainAfter">The provider refused for now (throttled, unavailable): the same send may go through after this long.</param>
/// <param name="PreviousConfirmed">
/// Nothing was sent because the row says the previous channel confirmed delivery (its signal is late): no failover happened.
/// </param>
public sealed record SendActivityResult(bool Sent, VerificationStatus Status, string? Detail = null, bool Unknown = false, TimeSpan? TryAgainAfter = null, bool PreviousConfirmed = false);

/// <summary>
/// The orchestration's custom status: where the verification's sending stands, as <c>{channel}.{stage}</c>
/// (<c>whatsapp.awaiting_delivery</c>). Never a code or number.
/// </summary>
public static class WorkflowPhases
{
    public const string Sending = "sending";
    public const string AwaitingDelivery = "awaiting_delivery";
    public const string Confirmed = "confirmed";

    /// <summary>The plan's last channel sent the code: waiting for the user.</summary>
    public const string Sent = "sent";

    /// <summary>The last channel could not send, but an earlier one had delivered the code: waiting for the user.</summary>
    public const string Failed = "failed";

    /// <summary>The provider refused for now (throttled, unavailable): waiting to try again.</summary>
    public const string Deferred = "deferred";

    /// <summary>The last channel's send may or may not have gone out: waiting for the user.</summary>
    public const string OutcomeUnknown = "outcome_unknown";

    public const string SendingWhatsApp = "whatsapp.sending";
    public const string AwaitingWhatsAppDelivery = "whatsapp.awaiting_delivery";
    public const string WhatsAppConfirmed = "whatsapp.confirmed";
    public const string SendingSms = "sms.sending";
    public const string SmsSent = "sms.sent";
    public const string SmsFailed = "sms.failed";
    public const string SmsDeferred = "sms.deferred";
    public const string SmsOutcomeUnknown = "sms.outcome_unknown";

    public static string Of(Channel channel, string stage) => $"{WireNames.Of(channel)}.{stage}";
}

/// <summary>Sends the code on <paramref name="Channel"/>, recording why the verification moved to it.</summary>
/// <param name="Reason">Why the verification moved to this channel; null for the plan's first.</param>
/// <param name="After">The channel before it in the plan.</param>
/// <param name="UnlessConfirmedBy">
/// Set when the wait for <paramref name="After"/>'s confirmation timed out: the activity decides by the row, in the
/// same write that records the failover. Confirmed by this rule: nothing is sent. Failed, or a resend recorded: the
/// failover takes that reason. (Reading the row in an activity of its own cost a round trip through the queues on
/// every timed-out wait.)
/// </param>
/// <param name="NotBefore">The deadline whose timer led here: the activity waits for it if the timer fired early.</param>
/// <param name="Last">The plan's last channel: a provider that refuses for now is waited for (there is nothing to move to).</param>
public sealed record SendCodeRequest(string VerificationId, Channel Channel, FailoverReason? Reason = null, string? Detail = null, Channel? After = null, FailoverWhen? UnlessConfirmedBy = null, DateTimeOffset? NotBefore = null, bool Last = true);

/// <param name="SettleFromRow">
/// The last channel's send failed or left no outcome: the row says whether it may have sent (then the verification
/// waits for the user) or cannot have (then it fails, unless another channel delivered the code).
/// </param>
/// <param name="Channel">The channel whose send it settles (the plan's last).</param>
/// <param name="NotBefore">The deadline whose timer led here: the activity waits for it if the timer fired early.</param>
public sealed record EndVerificationRequest(string VerificationId, string? Detail = null, bool SettleFromRow = false, DateTimeOffset? NotBefore = null, Channel? Channel = null);

/// <summary>
/// The verification's life: the plan's channels in order. Each is sent; unless it is the last, the workflow waits for
/// its confirmation (a durable timer where the channel has a deadline), a failure, a refusal or a resend, then moves
/// to the next. Then it waits for the end.
/// </summary>
/// <remarks>
/// Timers are cancelled with the synchronous <see cref="CancellationTokenSource.Cancel()"/>: <c>CancelAsync</c>
/// resumes the orchestrator off the durable dispatcher's turn, and the actions it then schedules are never sent.
/// </remarks>
#pragma warning disable CA1849 // Call async methods when in an async method: see the remarks.
// DURABLE0010: the logger the workflow passes around is context.CreateReplaySafeLogger's, which the analyzer cannot see.
// DURABLE0011: every loop waits on a timer or the code's expiry, so history is bounded by the code's lifetime (at most
// an hour): one iteration per signal, per early timer, or per ReconcileInterval (at least 10 s), never unbounded.
#pragma warning disable DURABLE0010, DURABLE0011
public static class VerificationWorkflow
{
    public const string OrchestratorName = "VerificationOrchestrator";
    public const string SignalEventName = nameof(VerificationSignal);

    /// <summary>The bounds of the wait before a send the provider refused for now is tried again.</summary>
    private static readonly TimeSpan MinimumDeferral = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan MaximumDeferral = TimeSpan.FromMinutes(1);

    private static readonly TaskOptions ActivityRetry = TaskOptions.FromRetryPolicy(
        new RetryPolicy(maxNumberOfAttempts: 4, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2));

    /// <summary>
    /// Registers the orchestrator and its activities, under the names the Functions app gives them, with a worker of
    /// the durable engine run outside Functions (a test host, the benchmark).
    /// </summary>
    public static void Register(DurableTaskRegistry registry, VerificationActivities activities)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(activities);
        registry.AddOrchestratorFunc<VerificationWorkflowInput, VerificationStatus>(OrchestratorName, (context, input) => RunAsync(context, input!));
        registry.AddActivityFunc<SendCodeRequest, SendActivityResult>(ActivityNames.SendCode, (_, request) => activities.SendCodeAsync(request!, CancellationToken.None));
        registry.AddActivityFunc<EndVerificationRequest, VerificationStatus>(ActivityNames.Expire, (_, request) => activities.ExpireAsync(request!, CancellationToken.None));
        registry.AddActivityFunc<EndVerificationRequest, VerificationStatus>(ActivityNames.Fail, (_, request) => activities.FailAsync(request!, CancellationToken.None));
        registry.AddActivityFunc<string, VerificationSnapshot>(ActivityNames.ReadVerification, (_, id) => activities.ReadVerificationAsync(id!, CancellationToken.None));
    }

    public static async Task<VerificationStatus> RunAsync(TaskOrchestrationContext context, VerificationWorkflowInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var logger = context.CreateReplaySafeLogger(OrchestratorName);

        return await new Run(context, input, logger).ExecuteAsync();
    }

    private sealed class Run(TaskOrchestrationContext context, VerificationWorkflowInput input, ILogger logger)
    {
        private readonly DateTime _expiresAt = input.ExpiresAt.UtcDateTime;

        private readonly string _id = input.VerificationId;

        // Exactly one wait for the signal event exists at any time, and it outlives the timers it races. A wait
        // abandoned after a timeout could swallow the next event (azure-functions-durable-extension#3255).
        private Task<VerificationSignal> _nextSignal = context.WaitForExternalEvent<VerificationSignal>(SignalEventName);

        public async Task<VerificationStatus> ExecuteAsync()
        {
            var plan = input.Plan;
            Step? why = null;
            for (var index = 0; index < plan.Count; index++)
            {
                var channel = plan[index];
                var previous = index > 0 ? plan[index - 1] : null;
                var last = index == plan.Count - 1;
                if (why is not null)
                {
                    logger.LogInformation("Verification {VerificationId}: moving to {Channel} ({Reason})", _id, channel.Channel, why.Reason);
                }

                var request = new SendCodeRequest(
                    _id,
                    channel.Channel,
                    why?.Reason,
                    why?.Detail,
                    previous?.Channel,
                    why?.Reason == FailoverReason.Timeout ? previous?.ConfirmedBy : null,
                    Utc(why?.NotBefore),
                    last);
                SetPhase(channel, WorkflowPhases.Sending);
                var sent = await SendAsync(request);

                // On the last channel, a provider that throttles or is down refuses for now: try again (same code,
                // same repeatability pair) after the wait it asks for, for as long as the code is good. (Any other
                // channel's refusal moves on at once: the activity says "try again" only on the last.)
                while (sent is { Sent: false, TryAgainAfter: { } wait } && sent.Status == VerificationStatus.Pending)
                {
                    SetPhase(channel, WorkflowPhases.Deferred);
                    var pause = wait < MinimumDeferral ? MinimumDeferral : wait > MaximumDeferral ? MaximumDeferral : wait;
                    // An earlier channel's confirmation meanwhile sends it again at once: the activity asks the row
                    // whether the move is still wanted.
                    var deferred = await WaitAsync(context.CurrentUtcDateTime + pause, resendMovesOn: false, decide: signal =>
                        signal is { Kind: SignalKind.Delivery, Channel: { } on, Delivery: { } status } && on != channel.Channel && Confirms(on, status) ? Step.Confirmed : null);
                    if (deferred.Kind == StepKind.Ended)
                    {
                        return deferred.Ended!.Value;
                    }

                    SetPhase(channel, WorkflowPhases.Sending);
                    sent = await SendAsync(request);
                }

                if (sent.PreviousConfirmed)
                {
                    // The wait for the previous channel timed out, but the row says it delivered (its signal is late,
                    // or it came while this channel's provider refused for now): nothing was sent, and the workflow
                    // waits for the user as if the signal had come in time.
                    why = await WaitForUserAfterDeliveryAsync(previous!);
                    if (why.Kind == StepKind.Ended)
                    {
                        return why.Ended!.Value;
                    }

                    index--;
                    continue;
                }

                if (sent.Status.IsEnded())
                {
                    return sent.Status;
                }

                if (!sent.Sent)
                {
                    if (!last)
                    {
                        why = Step.MoveOn(FailoverReason.SendError, sent.Detail);
                        continue;
                    }

                    // No channel left: the verification fails, unless another channel delivered the code (it still
                    // works). When the send failed half way (or left no outcome), the row says whether it may have sent.
                    var afterFail = await EndAsync(ActivityNames.Fail, new EndVerificationRequest(_id, sent.Detail, SettleFromRow: sent.Unknown, Channel: channel.Channel));
                    if (afterFail.IsEnded())
                    {
                        return afterFail;
                    }

                    SetPhase(channel, sent.Unknown ? WorkflowPhases.OutcomeUnknown : WorkflowPhases.Failed);
                    break;
                }

                if (last)
                {
                    SetPhase(channel, WorkflowPhases.Sent);
                    break;
                }

                why = await WatchAsync(channel);
                if (why.Kind == StepKind.Ended)
                {
                    return why.Ended!.Value;
                }
            }

            // No channel is left: wait for the user, a cancel, or the code's expiry. A resend changes nothing now.
            var end = await WaitAsync(until: null, resendMovesOn: false, decide: _ => null);
            return end.Ended!.Value;
        }

        /// <summary>Waits for <paramref name="channel"/> to confirm, then for the user; returns why to move on, or how it ended.</summary>
        private async Task<Step> WatchAsync(PlannedChannel channel)
        {
            SetPhase(channel, WorkflowPhases.AwaitingDelivery);
            Step? Decide(VerificationSignal signal) => signal switch
            {
                { Kind: SignalKind.Delivery, Channel: { } on, Delivery: DeliveryStatus.Failed } when on == channel.Channel => Step.MoveOn(FailoverReason.Failed),
                { Kind: SignalKind.Delivery, Channel: { } on, Delivery: { } status } when Confirms(on, status) => Step.Confirmed,
                _ => null,
            };

            Step delivery;
            if (channel.ConfirmWithin is { } within)
            {
                var deliveryDue = context.CurrentUtcDateTime + within;
                delivery = await WaitAsync(deliveryDue, resendMovesOn: true, decide: Decide);
                if (delivery.Kind == StepKind.DeadlinePassed)
                {
                    // The row, not the signals, decides: a delivered status, a resend or an end may be recorded while
                    // their signal is late (a message taken by a worker that died stays invisible for minutes). The
                    // send activity reads it in the write that records the failover (UnlessConfirmedBy), once the
                    // deadline has really passed (NotBefore: the timer may have fired early).
                    return Step.MoveOn(FailoverReason.Timeout) with { NotBefore = deliveryDue };
                }
            }
            else
            {
                // No deadline: only a failure, a confirmation, a resend or the end decides; the row is read every
                // ReconcileInterval in case their signal is late.
                delivery = await WaitReconcilingAsync(Decide, row =>
                    row.DeliveryOf(channel.Channel) == DeliveryStatus.Failed ? Step.MoveOn(FailoverReason.Failed)
                    : row.Deliveries.Any(d => Confirms(d.Channel, d.Delivery)) ? Step.Confirmed
                    : null);
            }

            return delivery.Kind == StepKind.Confirmed ? await WaitForUserAfterDeliveryAsync(channel) : delivery;
        }

        /// <summary>
        /// <paramref name="channel"/> delivered: waits for the user, a resend, or <see cref="VerificationWorkflowInput.FailoverIfUnverifiedAfter"/>.
        /// Every <see cref="VerificationWorkflowInput.ReconcileInterval"/> it reads the row, so a late resend signal
        /// moves on anyway, and a late end signal ends the workflow.
        /// </summary>
        private async Task<Step> WaitForUserAfterDeliveryAsync(PlannedChannel channel)
        {
            logger.LogInformation("Verification {VerificationId}: {Channel} confirmed delivery", _id, channel.Channel);
            SetPhase(channel, WorkflowPhases.Confirmed);
            DateTime? unverifiedAt = input.FailoverIfUnverifiedAfter is { } after ? context.CurrentUtcDateTime + after : null;
            var step = await WaitReconcilingAsync(_ => null, _ => null, unverifiedAt);
            return step.Kind == StepKind.DeadlinePassed
                ? Step.MoveOn(FailoverReason.Unverified) with { NotBefore = unverifiedAt } // the send activity reads the row anyway
                : step;
        }

        /// <summary>
        /// Waits like <see cref="WaitAsync"/> (a resend moves on) until <paramref name="until"/>, reading the row every
        /// <see cref="VerificationWorkflowInput.ReconcileInterval"/>: an end or a resend it records decides, and
        /// <paramref name="judge"/> judges the rest of it.
        /// </summary>
        private async Task<Step> WaitReconcilingAsync(Func<VerificationSignal, Step?> decide, Func<VerificationSnapshot, Step?> judge, DateTime? until = null)
        {
            while (true)
            {
                var next = input.ReconcileInterval is { } interval ? context.CurrentUtcDateTime + interval : (DateTime?)null;
                var untilNext = until is { } at && (next is null || at <= next);
                if (untilNext)
                {
                    next = until;
                }

                var step = await WaitAsync(next, resendMovesOn: true, decide);
                if (step.Kind != StepKind.DeadlinePassed || untilNext)
                {
                    return step;
                }

                // A read that failed after its retries (the table unreachable for a while) is tried again at the next
                // interval: ending the orchestration here would take the resend, the failover and the expiry with it.
                if (await TryReadAsync() is not { } row)
                {
                    continue;
                }

                if (row.Status.IsEnded())
                {
                    return Step.EndedWith(row.Status);
                }

                if (row.ResendRequested)
                {
                    return Step.MoveOn(FailoverReason.Requested);
                }

                if (judge(row) is { } judged)
                {
                    return judged;
                }
            }
        }

        private async Task<VerificationSnapshot?> TryReadAsync()
        {
            try
            {
                return await context.CallActivityAsync<VerificationSnapshot>(ActivityNames.ReadVerification, _id, ActivityRetry);
            }
            catch (TaskFailedException ex)
            {
                logger.LogWarning("Verification {VerificationId}: reading the row failed after retries ({ErrorType}); trying again at the next interval", _id, ex.FailureDetails.ErrorType);
                return null;
            }
        }

        /// <summary>Whether <paramref name="status"/> on <paramref name="channel"/> means the user has the code, by its rule in the plan.</summary>
        private bool Confirms(Channel channel, DeliveryStatus status) =>
            input.Plan.FirstOrDefault(p => p.Channel == channel) is { } planned && planned.ConfirmedBy.IsConfirmedBy(status);

        private void SetPhase(PlannedChannel channel, string stage) => context.SetCustomStatus(WorkflowPhases.Of(channel.Channel, stage));

        /// <summary>
        /// Waits until a signal decides something, <paramref name="until"/> passes, or the code expires (which ends
        /// the verification). An ended signal always decides; a resend decides when <paramref name="resendMovesOn"/>;
        /// <paramref name="decide"/> judges the rest, and a signal it returns null for changes nothing.
        /// </summary>
        /// <remarks>
        /// One durable timer per wait, at the earlier of <paramref name="until"/> and the code's expiry: every timer is
        /// a queue message and history rows, and one left behind by a wait that ended early still fires later (the
        /// backend then loads the instance only to discard it).
        /// </remarks>
        private async Task<Step> WaitAsync(DateTime? until, bool resendMovesOn, Func<VerificationSignal, Step?> decide)
        {
            var expires = until is not { } due || due >= _expiresAt;
            using var timer = new Deadline(context, expires ? _expiresAt : until!.Value);
            while (true)
            {
                var winner = await Task.WhenAny(_nextSignal, timer.Timer);
                if (winner == timer.Timer)
                {
                    if (timer.FiredEarly())
                    {
                        continue;
                    }

                    return expires
                        ? Step.EndedWith(await EndAsync(ActivityNames.Expire, new EndVerificationRequest(_id, NotBefore: Utc(timer.FireAt))))
                        : Step.DeadlinePassed;
                }

                var signal = await _nextSignal;
                _nextSignal = context.WaitForExternalEvent<VerificationSignal>(SignalEventName);
                var step = signal switch
                {
                    { Kind: SignalKind.Ended, Status: { } status } => Step.EndedWith(status),
                    { Kind: SignalKind.ResendRequested } => resendMovesOn ? Step.MoveOn(FailoverReason.Requested) : null,
                    _ => decide(signal),
                };
                if (step is not null)
                {
                    return step;
                }
            }
        }

        private async Task<SendActivityResult> SendAsync(SendCodeRequest request)
        {
            try
            {
                return await context.CallActivityAsync<SendActivityResult>(ActivityNames.SendCode, request, ActivityRetry);
            }
            catch (TaskFailedException ex)
            {
                logger.LogError("Verification {VerificationId}: sending by {Channel} failed after retries: {ErrorType}", _id, request.Channel, ex.FailureDetails.ErrorType);
                return new SendActivityResult(false, VerificationStatus.Pending, $"{WireNames.Of(request.Channel)}_send_error", Unknown: true);
            }
            finally
            {
                WakeCallbacks();
            }
        }

        private async Task<VerificationStatus> EndAsync(string activity, EndVerificationRequest request)
        {
            try
            {
                return await context.CallActivityAsync<VerificationStatus>(activity, request, ActivityRetry);
            }
            finally
            {
                WakeCallbacks();
            }
        }

        /// <summary>A step may have recorded events (sent, failover, an ending): the callback delivery reads the row.</summary>
        private void WakeCallbacks()
        {
            if (input.Callbacks)
            {
                context.SendEvent(Callbacks.CallbackDelivery.InstanceIdFor(_id), Callbacks.CallbackDelivery.KickEventName, true);
            }
        }

        private static DateTimeOffset? Utc(DateTime? at) => at is { } value ? new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc)) : null;
    }

    /// <summary>
    /// A durable timer for a point in time. Disposing cancels the timer so it does not keep the instance running.
    /// </summary>
    /// <remarks>
    /// The Azure Storage backend delays a timer message in whole seconds (the queue's visibility timeout), so a timer
    /// fires up to a second early. A new timer for the rest of that second would fire at once, and again, until the
    /// second is over: a storm of turns (it once cost 20 timers and 90 history events per failover). So a timer that
    /// fired less than <see cref="Granularity"/> early counts as fired, and the activity that acts on it waits out the
    /// rest itself (<c>NotBefore</c>); only a timer that fired a whole second or more early (clock skew) is set again.
    /// </remarks>
    private sealed class Deadline : IDisposable
    {
        private static readonly TimeSpan Granularity = TimeSpan.FromSeconds(1);
        private readonly TaskOrchestrationContext _context;
        private readonly DateTime _fireAt;
        private CancellationTokenSource _cancel = new();

        public Deadline(TaskOrchestrationContext context, DateTime fireAt)
        {
            _context = context;
            _fireAt = fireAt;
            Timer = context.CreateTimer(fireAt, _cancel.Token);
        }

        public Task Timer { get; private set; }

        public DateTime FireAt => _fireAt;

        /// <summary>After <see cref="Timer"/> completed: true, with a new timer armed, when it fired a second or more early.</summary>
        public bool FiredEarly()
        {
            if (_context.CurrentUtcDateTime > _fireAt - Granularity)
            {
                return false;
            }

            _cancel.Dispose();
            _cancel = new CancellationTokenSource();
            Timer = _context.CreateTimer(_fireAt, _cancel.Token);
            return true;
        }

        public void Dispose()
        {
            _cancel.Cancel();
            _cancel.Dispose();
        }
    }

    private enum StepKind
    {
        Confirmed,
        DeadlinePassed,
        MoveOn,
        Ended,
    }

    /// <param name="NotBefore">For a move a timer decided: its deadline, which the send activity waits for.</param>
    private sealed record Step(StepKind Kind, FailoverReason? Reason = null, string? Detail = null, VerificationStatus? Ended = null, DateTime? NotBefore = null)
    {
        public static readonly Step Confirmed = new(StepKind.Confirmed);
        public static readonly Step DeadlinePassed = new(StepKind.DeadlinePassed);

        public static Step MoveOn(FailoverReason reason, string? detail = null) => new(StepKind.MoveOn, reason, detail);

        public static Step EndedWith(VerificationStatus status) => new(StepKind.Ended, Ended: status);
    }
}

public static class ActivityNames
{
    public const string SendCode = nameof(SendCode);
    public const string Expire = nameof(Expire);
    public const string Fail = nameof(Fail);
    public const string ReadVerification = nameof(ReadVerification);
}
#pragma warning restore DURABLE0010, DURABLE0011
#pragma warning restore CA1849
