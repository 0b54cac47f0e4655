using Microsoft.Extensions.Logging;
using OtpFailover.Channels;
using OtpFailover.Telemetry;
using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

/// <summary>The <c>Expire</c> and <c>Fail</c> activities: the workflow's endings, each one write of the row.</summary>
public sealed partial class EndVerification(VerificationStore store, DeliveryRules rules, TimeProvider time, ILogger<EndVerification> logger)
{
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

                entity.Append(new TimelineEvent(sentEvent, now, Detail: SendDetails.OutcomeUnknown));
                return true;
            }

            if (!rules.NoChannelLeft(entity, channel) && now < entity.ExpiresAt)
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

            entity.End(VerificationStatus.Failed, TimelineEventTypes.Failed, now, detail: request.Detail ?? DeliveryRules.NoChannelDelivered);
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
        await EarlyTimers.WaitUntilAsync(time, request.NotBefore, cancellationToken);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId} ended: {Status}")]
    private partial void LogEnded(string verificationId, VerificationStatus status);
}
