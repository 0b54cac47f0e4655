using Microsoft.Extensions.Logging;
using OtpFailover.Callbacks;
using OtpFailover.Telemetry;
using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

/// <summary>The delivery orchestration's activity: reads the row, posts the events the cursor has not passed.</summary>
public sealed partial class CallbackActivities(VerificationStore store, CallbackEvents events, CallbackSender sender, CallbackUrlPolicy policy, OtpMetrics metrics, ILogger<CallbackActivities> logger)
{
    public async Task<CallbackBatchResult> DeliverAsync(CallbackCursor cursor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        var row = await store.FindAsync(cursor.VerificationId, cancellationToken);
        if (row?.CallbackUrl is not { } address || !Uri.TryCreate(address, UriKind.Absolute, out var url))
        {
            LogGone(cursor.VerificationId);
            return new CallbackBatchResult(cursor.Next, Gone: true);
        }

        // The settings of today decide, not those of the start: a host taken off the list gets nothing more.
        if (!policy.StillAllows(url))
        {
            LogNoLongerAllowed(cursor.VerificationId, url.Host);
            return new CallbackBatchResult(cursor.Next, Gone: true);
        }

        using var span = VerificationTracing.StartStep("otpfailover.callback.deliver", cursor.VerificationId, row.TraceParent);
        var timeline = row.ReadTimeline();
        for (var sequence = Math.Max(0, cursor.Next); sequence < timeline.Count; sequence++)
        {
            if (events.From(row, sequence, timeline[sequence]) is not { } callbackEvent)
            {
                continue;
            }

            var attempt = await sender.PostAsync(url, callbackEvent, cancellationToken);
            metrics.CallbackAttempted(callbackEvent.Type, attempt.Delivered);
            if (!attempt.Delivered)
            {
                LogFailed(cursor.VerificationId, callbackEvent.Type, sequence, url.Host, attempt.Failure);
                return new CallbackBatchResult(sequence, Failed: true, attempt.Failure, attempt.RetryAfter);
            }

            LogDelivered(cursor.VerificationId, callbackEvent.Type, sequence, url.Host);
        }

        return new CallbackBatchResult(timeline.Count, Ended: !row.IsPending);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: its callbacks stop, its row is gone (purged)")]
    private partial void LogGone(string verificationId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Verification {VerificationId}: its callbacks stop, {CallbackHost} is no longer allowed (Callbacks:SigningKey, Callbacks:Url, Callbacks:AllowedHosts)")]
    private partial void LogNoLongerAllowed(string verificationId, string callbackHost);

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId}: callback {EventType} ({Sequence}) delivered to {CallbackHost}")]
    private partial void LogDelivered(string verificationId, string eventType, int sequence, string callbackHost);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: callback {EventType} ({Sequence}) to {CallbackHost} failed: {Failure}")]
    private partial void LogFailed(string verificationId, string eventType, int sequence, string callbackHost, string? failure);
}
