using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace OtpFailover.Verifications;

/// <summary>
/// The orchestration's input. It names the verification and carries the timings (so a test can use seconds);
/// it never carries the code or the phone number, which the activities read from the store.
/// </summary>
/// <param name="ReconcileInterval">
/// While WhatsApp's delivery is confirmed and the workflow waits for the user, how often it reads the row anyway:
/// a signal can be late after a crash (a resend the user asked for must not wait minutes for it). Null: never.
/// </param>
/// <param name="Callbacks">The verification has a callback delivery to wake after each step (see <see cref="Callbacks.CallbackDelivery"/>).</param>
public sealed record VerificationWorkflowInput(
    string VerificationId,
    DateTimeOffset ExpiresAt,
    TimeSpan WhatsAppDeliveryTimeout,
    FailoverWhen FailoverWhen,
    TimeSpan? FailoverIfUnverifiedAfter,
    TimeSpan? ReconcileInterval = null,
    bool Callbacks = false);

/// <summary>What the row says now, for the workflow to act on instead of a signal that may be late or lost.</summary>
public sealed record VerificationSnapshot(VerificationStatus Status, WhatsAppDeliveryStatus WhatsAppStatus, bool ResendRequested);

public enum SignalKind
{
    /// <summary>WhatsApp reported a new status for the message.</summary>
    WhatsAppStatus,

    /// <summary>The caller asked for the next channel.</summary>
    ResendRequested,

    /// <summary>The verification ended (approved, canceled, max attempts); the store already says so.</summary>
    Ended,
}

/// <summary>The one external event the orchestration listens to. It carries no code and no phone number.</summary>
public sealed record VerificationSignal(SignalKind Kind, WhatsAppDeliveryStatus? WhatsAppStatus = null, VerificationStatus? Status = null)
{
    public static VerificationSignal ForWhatsAppStatus(WhatsAppDeliveryStatus status) => new(SignalKind.WhatsAppStatus, WhatsAppStatus: status);

    public static VerificationSignal Resend { get; } = new(SignalKind.ResendRequested);

    public static VerificationSignal EndedWith(VerificationStatus status) => new(SignalKind.Ended, Status: status);
}

/// <summary>
/// What an activity that sends did. <see cref="Status"/> is the verification's status after it. <see cref="Unknown"/>
/// is set by the workflow when the activity itself failed (after its retries): it may have sent or not.
/// </summary>
/// <param name="TryAgainAfter">The provider refused for now (throttled, unavailable): the same send may go through after this long.</param>
/// <param name="WhatsAppConfirmed">
/// The SMS was not sent because the row says WhatsApp confirmed delivery (its signal is late): no failover happened.
/// </param>
public sealed record SendActivityResult(bool Sent, VerificationStatus Status, string? Detail = null, bool Unknown = false, TimeSpan? TryAgainAfter = null, bool WhatsAppConfirmed = false);

/// <summary>The orchestration's custom status: where the verification's sending stands. Never a code or number.</summary>
public static class WorkflowPhases
{
    public const string SendingWhatsApp = "whatsapp.sending";
    public const string AwaitingWhatsAppDelivery = "whatsapp.awaiting_delivery";
    public const string WhatsAppConfirmed = "whatsapp.confirmed";
    public const string SendingSms = "sms.sending";
    public const string SmsSent = "sms.sent";

    /// <summary>The SMS could not go out, but WhatsApp had delivered the code: waiting for the user.</summary>
    public const string SmsFailed = "sms.failed";

    /// <summary>The SMS provider refused for now (throttled, unavailable): waiting to try again.</summary>
    public const string SmsDeferred = "sms.deferred";

    /// <summary>The SMS activity failed after its retries, so the SMS may or may not be out: waiting for the user.</summary>
    public const string SmsOutcomeUnknown = "sms.outcome_unknown";
}

/// <param name="UnlessConfirmedBy">
/// Set when the delivery wait timed out: the activity decides by the row, in the same write that records the failover.
/// WhatsApp confirmed by this rule: no SMS. WhatsApp failed, or a resend recorded: the failover takes that reason.
/// (Reading the row in an activity of its own cost a round trip through the queues on every timed-out wait.)
/// </param>
/// <param name="NotBefore">The deadline whose timer led here: the activity waits for it if the timer fired early.</param>
public sealed record SmsFailoverRequest(string VerificationId, FailoverReason Reason, string? Detail = null, FailoverWhen? UnlessConfirmedBy = null, DateTimeOffset? NotBefore = null);

/// <param name="SettleFromRow">
/// The SMS step itself failed (after its retries): the row says whether it may have sent (then the verification waits
/// for the user) or cannot have (then it fails, unless WhatsApp delivered the code).
/// </param>
/// <param name="NotBefore">The deadline whose timer led here: the activity waits for it if the timer fired early.</param>
public sealed record EndVerificationRequest(string VerificationId, string? Detail = null, bool SettleFromRow = false, DateTimeOffset? NotBefore = null);

/// <summary>
/// The verification's life: WhatsApp first, a durable timer for its delivery status, SMS when WhatsApp does not
/// confirm in time (or fails, or is refused, or the caller asks), then wait for the end.
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

    /// <summary>The bounds of the wait before an SMS the provider refused for now is tried again.</summary>
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
        registry.AddActivityFunc<string, SendActivityResult>(ActivityNames.SendWhatsApp, (_, id) => activities.SendWhatsAppAsync(id!, CancellationToken.None));
        registry.AddActivityFunc<SmsFailoverRequest, SendActivityResult>(ActivityNames.SendSms, (_, request) => activities.SendSmsAsync(request!, CancellationToken.None));
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
            context.SetCustomStatus(WorkflowPhases.SendingWhatsApp);
            var whatsApp = await SendAsync(ActivityNames.SendWhatsApp, _id);
            if (!whatsApp.Sent && whatsApp.Status.IsEnded())
            {
                return whatsApp.Status;
            }

            var step = whatsApp.Sent
                ? await WatchWhatsAppAsync()
                : Step.FailOver(FailoverReason.SendError, whatsApp.Detail);
            if (step.Kind == StepKind.Ended)
            {
                return step.Ended!.Value;
            }

            var (request, sms) = await FailOverAsync(step);
            if (sms.WhatsAppConfirmed)
            {
                // The delivery wait timed out, but the row says WhatsApp delivered (the signal is late): no SMS, and
                // the workflow waits for the user as if the signal had come.
                step = await WaitForUserAfterDeliveryAsync();
                if (step.Kind == StepKind.Ended)
                {
                    return step.Ended!.Value;
                }

                (request, sms) = await FailOverAsync(step);
            }

            // A provider that throttles or is down refuses for now: try again (same code, same repeatability pair)
            // after the wait it asks for, for as long as the code is good.
            while (sms is { Sent: false, TryAgainAfter: { } wait } && sms.Status == VerificationStatus.Pending)
            {
                context.SetCustomStatus(WorkflowPhases.SmsDeferred);
                var pause = wait < MinimumDeferral ? MinimumDeferral : wait > MaximumDeferral ? MaximumDeferral : wait;
                var deferred = await WaitAsync(context.CurrentUtcDateTime + pause, resendFailsOver: false, decide: _ => null);

                if (deferred.Kind == StepKind.Ended)
                {
                    return deferred.Ended!.Value;
                }

                context.SetCustomStatus(WorkflowPhases.SendingSms);
                sms = await SendAsync(ActivityNames.SendSms, request);
            }

            if (sms.Sent)
            {
                context.SetCustomStatus(WorkflowPhases.SmsSent);
            }
            else
            {
                if (sms.Status.IsEnded())
                {
                    return sms.Status;
                }

                // No channel left: the verification fails, unless WhatsApp had delivered the code (it still works).
                // When the SMS step itself failed (storage, not the provider), the row says whether it may have sent.
                var afterSms = await EndAsync(ActivityNames.Fail, new EndVerificationRequest(_id, sms.Detail, SettleFromRow: sms.Unknown));
                if (afterSms.IsEnded())
                {
                    return afterSms;
                }

                context.SetCustomStatus(sms.Unknown ? WorkflowPhases.SmsOutcomeUnknown : WorkflowPhases.SmsFailed);
            }

            // No channel is left: wait for the user, a cancel, or the code's expiry. A resend changes nothing now.
            var end = await WaitAsync(until: null, resendFailsOver: false, decide: _ => null);
            return end.Ended!.Value;
        }

        /// <summary>Waits for WhatsApp to confirm, then for the user; returns why to fail over, or how it ended.</summary>
        private async Task<Step> WatchWhatsAppAsync()
        {
            context.SetCustomStatus(WorkflowPhases.AwaitingWhatsAppDelivery);
            var deliveryDue = context.CurrentUtcDateTime + input.WhatsAppDeliveryTimeout;
            var delivery = await WaitAsync(deliveryDue, resendFailsOver: true, decide: signal => signal switch
            {
                { Kind: SignalKind.WhatsAppStatus, WhatsAppStatus: WhatsAppDeliveryStatus.Failed } => Step.FailOver(FailoverReason.Failed),
                { Kind: SignalKind.WhatsAppStatus, WhatsAppStatus: { } status } when Confirms(status) => Step.Confirmed,
                _ => null,
            });

            if (delivery.Kind == StepKind.DeadlinePassed)
            {
                // The row, not the signals, decides: a delivered status, a resend or an end may be recorded while
                // their signal is late (a message taken by a worker that died stays invisible for minutes). The SMS
                // activity reads it in the write that records the failover (UnlessConfirmedBy), once the deadline
                // has really passed (NotBefore: the timer may have fired early).
                return Step.FailOver(FailoverReason.Timeout) with { NotBefore = deliveryDue };
            }

            return delivery.Kind == StepKind.Confirmed ? await WaitForUserAfterDeliveryAsync() : delivery;
        }

        /// <summary>Sends the SMS for <paramref name="step"/>'s reason; after a timed-out wait, only if the row agrees.</summary>
        private async Task<(SmsFailoverRequest Request, SendActivityResult Result)> FailOverAsync(Step step)
        {
            var reason = step.Reason!.Value;
            logger.LogInformation("Verification {VerificationId}: failing over to SMS ({Reason})", _id, reason);
            context.SetCustomStatus(WorkflowPhases.SendingSms);
            var request = new SmsFailoverRequest(_id, reason, step.Detail, reason == FailoverReason.Timeout ? input.FailoverWhen : null, Utc(step.NotBefore));
            return (request, await SendAsync(ActivityNames.SendSms, request));
        }

        /// <summary>
        /// WhatsApp delivered: waits for the user, a resend, or <see cref="VerificationWorkflowInput.FailoverIfUnverifiedAfter"/>.
        /// Every <see cref="VerificationWorkflowInput.ReconcileInterval"/> it reads the row, so a late resend signal
        /// sends the SMS anyway, and a late end signal ends the workflow.
        /// </summary>
        private async Task<Step> WaitForUserAfterDeliveryAsync()
        {
            logger.LogInformation("Verification {VerificationId}: WhatsApp confirmed delivery", _id);
            context.SetCustomStatus(WorkflowPhases.WhatsAppConfirmed);
            DateTime? unverifiedAt = input.FailoverIfUnverifiedAfter is { } after ? context.CurrentUtcDateTime + after : null;
            while (true)
            {
                var next = input.ReconcileInterval is { } interval ? context.CurrentUtcDateTime + interval : (DateTime?)null;
                var unverifiedNext = unverifiedAt is { } at && (next is null || at <= next);
                if (unverifiedNext)
                {
                    next = unverifiedAt;
                }

                var step = await WaitAsync(next, resendFailsOver: true, decide: _ => null);

                if (step.Kind != StepKind.DeadlinePassed)
                {
                    return step;
                }

                if (unverifiedNext)
                {
                    // The SMS activity reads the row anyway (an ended verification sends nothing).
                    return Step.FailOver(FailoverReason.Unverified) with { NotBefore = unverifiedAt };
                }

                // A read that failed after its retries (the table unreachable for a while) is tried again at the next
                // interval: ending the orchestration here would take the resend, the unverified failover and the
                // expiry with it.
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
                    return Step.FailOver(FailoverReason.Requested);
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

        private bool Confirms(WhatsAppDeliveryStatus status) => input.FailoverWhen.IsConfirmedBy(status);

        /// <summary>
        /// Waits until a signal decides something, <paramref name="until"/> passes, or the code expires (which ends
        /// the verification). An ended signal always decides; a resend decides when <paramref name="resendFailsOver"/>;
        /// <paramref name="decide"/> judges the rest, and a signal it returns null for changes nothing.
        /// </summary>
        /// <remarks>
        /// One durable timer per wait, at the earlier of <paramref name="until"/> and the code's expiry: every timer is
        /// a queue message and history rows, and one left behind by a wait that ended early still fires later (the
        /// backend then loads the instance only to discard it).
        /// </remarks>
        private async Task<Step> WaitAsync(DateTime? until, bool resendFailsOver, Func<VerificationSignal, Step?> decide)
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
                    { Kind: SignalKind.ResendRequested } => resendFailsOver ? Step.FailOver(FailoverReason.Requested) : null,
                    _ => decide(signal),
                };
                if (step is not null)
                {
                    return step;
                }
            }
        }

        private async Task<SendActivityResult> SendAsync(string activity, object request)
        {
            try
            {
                return await context.CallActivityAsync<SendActivityResult>(activity, request, ActivityRetry);
            }
            catch (TaskFailedException ex)
            {
                logger.LogError("Verification {VerificationId}: {Activity} failed after retries: {ErrorType}", _id, activity, ex.FailureDetails.ErrorType);
                return new SendActivityResult(false, VerificationStatus.Pending, $"{activity.ToLowerInvariant()}_error", Unknown: true);
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
        FailOver,
        Ended,
    }

    /// <param name="NotBefore">For a failover a timer decided: its deadline, which the SMS activity waits for.</param>
    private sealed record Step(StepKind Kind, FailoverReason? Reason = null, string? Detail = null, VerificationStatus? Ended = null, DateTime? NotBefore = null)
    {
        public static readonly Step Confirmed = new(StepKind.Confirmed);
        public static readonly Step DeadlinePassed = new(StepKind.DeadlinePassed);

        public static Step FailOver(FailoverReason reason, string? detail = null) => new(StepKind.FailOver, reason, detail);

        public static Step EndedWith(VerificationStatus status) => new(StepKind.Ended, Ended: status);
    }
}

public static class ActivityNames
{
    public const string SendWhatsApp = nameof(SendWhatsApp);
    public const string SendSms = nameof(SendSms);
    public const string Expire = nameof(Expire);
    public const string Fail = nameof(Fail);
    public const string ReadVerification = nameof(ReadVerification);
}
#pragma warning restore DURABLE0010, DURABLE0011
#pragma warning restore CA1849
