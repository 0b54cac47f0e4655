using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using OtpFailover.Callbacks;
using OtpFailover.Telemetry;
using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

/// <summary>Deliver the verification's events from <see cref="Next"/> (a timeline position) on.</summary>
public sealed record CallbackCursor(string VerificationId, int Next);

/// <param name="Next">The first event not delivered yet (the one that failed, when <see cref="Failed"/>).</param>
/// <param name="Gone">
/// Nothing will ever be delivered: the verification is gone (purged), or its callback URL is no longer allowed, or
/// callbacks were turned off.
/// </param>
/// <param name="Ended">The verification had ended when its events were read: its last event is among them.</param>
public sealed record CallbackBatchResult(int Next, bool Failed = false, string? Failure = null, TimeSpan? RetryAfter = null, bool Gone = false, bool Ended = false);

/// <summary>
/// Delivers a verification's status events to its callback URL, one at a time and in order, each until it is
/// answered 2xx: at least once, with the same <c>webhook-id</c> on a repeat. The row's timeline is the outbox: the
/// activity reads it and posts what the cursor has not passed, so a lost wake-up only delays an event, and an
/// activity run twice only repeats a delivery the receiver drops by its id.
/// </summary>
/// <remarks>
/// Woken by <see cref="KickEventName"/> (from the workflow after each of its steps, and from the API and webhooks after
/// theirs), and once more at <see cref="CallbackDeliveryInput.ListenUntil"/>, when every verification has ended, to
/// pick up any wake-up that was lost. A failed event is retried with backoff (doubling from
/// <see cref="CallbackOptions.FirstRetryInterval"/>, honouring <c>Retry-After</c>) for <see cref="CallbackOptions.RetryFor"/>;
/// then the verification's remaining events are given up. Every retry continues as new, so history stays small.
/// </remarks>
#pragma warning disable CA1849 // Cancel() rather than CancelAsync(): see VerificationWorkflow's remarks.
#pragma warning disable DURABLE0010, DURABLE0011 // A replay-safe logger; the loop waits on a timer that ends it.
public static class CallbackDelivery
{
    public const string OrchestratorName = Workflows.CallbackOrchestrator;
    public const string ActivityName = "DeliverCallbacks";
    public const string KickEventName = Workflows.CallbacksPendingEvent;

    /// <summary>How long after the code's expiry the delivery keeps listening: the expiry's own write lands in it.</summary>
    public static readonly TimeSpan ListenAfterExpiry = Workflows.CallbacksListenAfterExpiry;

    /// <summary>How long past <see cref="CallbackDeliveryInput.ListenUntil"/> it waits for a verification that has not ended.</summary>
    public static readonly TimeSpan MaximumOverrun = TimeSpan.FromHours(1);

    private static readonly TimeSpan TimerSlack = TimeSpan.FromSeconds(2);

    private static readonly TaskOptions ActivityRetry = TaskOptions.FromRetryPolicy(
        new RetryPolicy(maxNumberOfAttempts: 3, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2));

    public static string InstanceIdFor(string verificationId) => Workflows.CallbackInstanceIdFor(verificationId);

    public static async Task RunAsync(TaskOrchestrationContext context, CallbackDeliveryInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var logger = context.CreateReplaySafeLogger(OrchestratorName);
        var listenUntil = input.ListenUntil.UtcDateTime;
        var kick = context.WaitForExternalEvent<bool>(KickEventName);
        var (next, failingSince, failures) = (input.Next, input.FailingSince, input.Failures);

        while (true)
        {
            var from = next;
            CallbackBatchResult result;
            try
            {
                result = await context.CallActivityAsync<CallbackBatchResult>(ActivityName, new CallbackCursor(input.VerificationId, next), ActivityRetry);
            }
            catch (TaskFailedException ex)
            {
                result = new CallbackBatchResult(next, Failed: true, Failure: ex.FailureDetails.ErrorType);
            }

            if (result.Gone)
            {
                return;
            }

            next = result.Next;
            var now = new DateTimeOffset(context.CurrentUtcDateTime, TimeSpan.Zero);
            if (result.Failed)
            {
                if (next > from || failingSince is null)
                {
                    // A new event failed: its own retry window starts now.
                    (failingSince, failures) = (now, 0);
                }

                if (now - failingSince >= input.RetryFor)
                {
                    logger.LogError("Verification {VerificationId}: callbacks given up after {RetryFor} of failures ({Failure}); the events from {Sequence} on are not delivered", input.VerificationId, input.RetryFor, result.Failure, next);
                    return;
                }

                var wait = Backoff(input, failures, result.RetryAfter);
                logger.LogWarning("Verification {VerificationId}: callback {Sequence} failed ({Failure}); trying again in {Wait}", input.VerificationId, next, result.Failure, wait);
                await context.CreateTimer(context.CurrentUtcDateTime + wait, CancellationToken.None);
                context.ContinueAsNew(input with { Next = next, FailingSince = failingSince, Failures = failures + 1 });
                return;
            }

            (failingSince, failures) = (null, 0);
            var wakeAt = listenUntil;
            if (context.CurrentUtcDateTime >= listenUntil - TimerSlack)
            {
                if (result.Ended)
                {
                    return;
                }

                // The code is dead but the row does not say how it ended yet (the workflow is behind, after an
                // outage): its ending is still to come, so look again, for a while.
                if (context.CurrentUtcDateTime >= listenUntil + MaximumOverrun)
                {
                    logger.LogWarning("Verification {VerificationId}: callbacks stop listening; it has not ended {Overrun} after its code expired", input.VerificationId, MaximumOverrun);
                    return;
                }

                wakeAt = context.CurrentUtcDateTime + (input.LookAgainAfter ?? ListenAfterExpiry);
            }

            using var cancel = new CancellationTokenSource();
            var timer = context.CreateTimer(wakeAt, cancel.Token);
            if (await Task.WhenAny(kick, timer) == kick)
            {
                cancel.Cancel();
                kick = context.WaitForExternalEvent<bool>(KickEventName);
            }
        }
    }

    /// <summary>Doubling from the first interval up to the maximum; a longer <c>Retry-After</c> wins, within the maximum.</summary>
    internal static TimeSpan Backoff(CallbackDeliveryInput input, int failures, TimeSpan? retryAfter)
    {
        var doubling = input.FirstRetryInterval * Math.Pow(2, Math.Min(failures, 30));
        var wait = doubling > input.MaximumRetryInterval ? input.MaximumRetryInterval : doubling;
        if (retryAfter is { } asked && asked > wait)
        {
            wait = asked > input.MaximumRetryInterval ? input.MaximumRetryInterval : asked;
        }

        return wait;
    }
}
#pragma warning restore DURABLE0010, DURABLE0011
#pragma warning restore CA1849
