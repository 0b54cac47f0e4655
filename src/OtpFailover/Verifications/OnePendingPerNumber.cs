using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace OtpFailover.Verifications;

/// <summary>
/// At most one verification per number is pending: a new start ends the one in flight. The number's usage row records
/// its latest start in the same ETag-guarded write that counts it (<c>Abuse/StartAdmission</c>); whoever commits last
/// has ended every verification before it.
/// </summary>
public sealed partial class OnePendingPerNumber(VerificationStore store, WorkflowSignals signals, TimeProvider time, ILogger<OnePendingPerNumber> logger)
{
    public const string SupersededDetail = "superseded";

    /// <summary>
    /// Ends the verification a number had in flight, because a new start for the number takes its place: it ends
    /// <c>canceled</c> (detail <c>superseded</c>), or <c>expired</c> when its lifetime had run out already.
    /// </summary>
    /// <returns>The row as this call ended it; null when it had ended before (or never existed).</returns>
    public async Task<VerificationEntity?> SupersedeAsync(string id, CancellationToken cancellationToken = default)
    {
        var ended = await store.UpdateAsync(id, entity =>
        {
            if (!entity.IsPending)
            {
                return false;
            }

            var now = time.GetUtcNow();
            if (now >= entity.ExpiresAt)
            {
                entity.End(VerificationStatus.Expired, TimelineEventTypes.Expired, now);
            }
            else
            {
                entity.End(VerificationStatus.Canceled, TimelineEventTypes.Canceled, now, detail: SupersededDetail);
            }

            return true;
        }, cancellationToken);
        return ended is { Changed: true, Entity: var entity } ? entity : null;
    }

    /// <summary>Tells the workflows and callback deliveries of the verifications a start ended (once it is committed).</summary>
    public async Task AnnounceAsync(IEnumerable<VerificationEntity> superseded, string newVerificationId, DurableTaskClient durable)
    {
        ArgumentNullException.ThrowIfNull(superseded);
        foreach (var old in superseded)
        {
            LogSuperseded(old.Id, newVerificationId, old.StatusValue);
            await signals.EndedAsync(durable, old);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId} ended ({Status}): superseded by {NewVerificationId}")]
    private partial void LogSuperseded(string verificationId, string newVerificationId, VerificationStatus status);
}
