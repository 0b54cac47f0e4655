using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

/// <summary>
/// The verification's life: the plan's channels in order. Each is sent; unless it is the last, the workflow waits for
/// its confirmation (a durable timer where the channel has a deadline), a failure, a refusal or a resend, then moves
/// to the next. Then it waits for the end.
/// </summary>
/// <remarks>
/// Timers are cancelled with the synchronous <see cref="CancellationTokenSource.Cancel()"/>: <c>CancelAsync</c>
/// resumes the orchestrator off the durable dispatcher's turn, and the actions it then schedules are never sent.
/// Its parts: this walk of the plan; the waits (<c>WorkflowRun.Waits.cs</c>, with <see cref="Deadline"/> and
/// <see cref="Step"/>); the activity calls (<c>WorkflowRun.Calls.cs</c>); the activities themselves (<c>SendCode</c>,
/// <c>EndVerification</c>, <c>ReadVerification</c>).
/// </remarks>
public static class VerificationWorkflow
{
    public const string OrchestratorName = Workflows.VerificationOrchestrator;
    public const string SignalEventName = Workflows.SignalEvent;

    public static async Task<VerificationStatus> RunAsync(TaskOrchestrationContext context, VerificationWorkflowInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var logger = context.CreateReplaySafeLogger(OrchestratorName);

        return await new WorkflowRun(context, input, logger).ExecuteAsync();
    }
}

#pragma warning disable CA1849 // Call async methods when in an async method: see VerificationWorkflow's remarks.
// DURABLE0010: the logger the workflow passes around is context.CreateReplaySafeLogger's, which the analyzer cannot see.
// DURABLE0011: every loop waits on a timer or the code's expiry, so history is bounded by the code's lifetime (at most
// an hour): one iteration per signal, per early timer, or per ReconcileInterval (at least 10 s), never unbounded.
#pragma warning disable DURABLE0010, DURABLE0011

/// <summary>One run of <see cref="VerificationWorkflow"/>: the plan walk, on top of the waits and activity calls.</summary>
internal sealed partial class WorkflowRun(TaskOrchestrationContext context, VerificationWorkflowInput input, ILogger logger)
{
    /// <summary>The bounds of the wait before a send the provider refused for now is tried again.</summary>
    private static readonly TimeSpan MinimumDeferral = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan MaximumDeferral = TimeSpan.FromMinutes(1);

    private readonly DateTime _expiresAt = input.ExpiresAt.UtcDateTime;

    private readonly string _id = input.VerificationId;

    // Exactly one wait for the signal event exists at any time, and it outlives the timers it races. A wait
    // abandoned after a timeout could swallow the next event (azure-functions-durable-extension#3255).
    private Task<VerificationSignal> _nextSignal = context.WaitForExternalEvent<VerificationSignal>(Workflows.SignalEvent);

    public async Task<VerificationStatus> ExecuteAsync()
    {
        var plan = input.Plan;
        Step? why = null;
        for (var index = 0; index < plan.Count; index++)
        {
            var (channel, previous, last) = (plan[index], index > 0 ? plan[index - 1] : null, index == plan.Count - 1);
            var (sent, endedWhileDeferred) = await SendOnAsync(channel, previous, why, last);
            if (endedWhileDeferred is { } ended)
            {
                return ended;
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

            if (!sent.Sent && !last)
            {
                why = Step.MoveOn(FailoverReason.SendError, sent.Detail);
                continue;
            }

            if (!sent.Sent)
            {
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

    /// <summary>
    /// Sends the code on <paramref name="channel"/>, moved to for <paramref name="why"/>. On the last channel, a provider
    /// that throttles or is down refuses for now: it is tried again (same code, same repeatability pair) after the wait
    /// it asks for, for as long as the code is good. (Any other channel's refusal moves on at once: the activity says
    /// "try again" only on the last.)
    /// </summary>
    /// <returns>What the last send did; or how the verification ended while a deferred send waited.</returns>
    private async Task<(SendActivityResult Sent, VerificationStatus? Ended)> SendOnAsync(PlannedChannel channel, PlannedChannel? previous, Step? why, bool last)
    {
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
                return (sent, deferred.Ended!.Value);
            }

            SetPhase(channel, WorkflowPhases.Sending);
            sent = await SendAsync(request);
        }

        return (sent, null);
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

    /// <summary>Whether <paramref name="status"/> on <paramref name="channel"/> means the user has the code, by its rule in the plan.</summary>
    private bool Confirms(Channel channel, DeliveryStatus status) =>
        input.Plan.FirstOrDefault(p => p.Channel == channel) is { } planned && planned.ConfirmedBy.IsConfirmedBy(status);

    private void SetPhase(PlannedChannel channel, string stage) => context.SetCustomStatus(WorkflowPhases.Of(channel.Channel, stage));
}
#pragma warning restore DURABLE0010, DURABLE0011
#pragma warning restore CA1849
