using OtpFailover.Channels;
using OtpFailover.Telemetry;

namespace OtpFailover.Verifications;

/// <summary>
/// What a written change of a verification row means for the meter, from how the row was to how it is: a code sent, a
/// move to another channel, a delivery confirmed, an ending. Read off the write itself, which happens once under the
/// row's ETag however often an activity runs, so each is counted once.
/// </summary>
internal readonly record struct TransitionMetrics(bool Pending, IReadOnlyList<ChannelSend> Sends)
{
    /// <summary>The row before a change.</summary>
    public static TransitionMetrics Before(VerificationEntity entity) => new(entity.IsPending, entity.ReadSends());

    /// <summary>Counts what the change from this row to <paramref name="after"/> did.</summary>
    public void Record(OtpMetrics metrics, VerificationEntity after, DateTimeOffset now)
    {
        var sinceStart = now - after.CreatedAt;
        var sends = Sends ?? [];
        foreach (var send in after.ReadSends())
        {
            var earlier = sends.FirstOrDefault(s => s.Channel == send.Channel);
            if (earlier?.MessageId is null && send.MessageId is not null)
            {
                metrics.CodeSent(send.Channel, after.RegionCode);
            }

            if (earlier is null && send.Reason is { } reason)
            {
                metrics.FailedOver(reason, send.Channel, after.RegionCode);
            }

            if (earlier?.Confirmed != true && send.Confirmed)
            {
                metrics.DeliveryConfirmed(send.Channel, after.RegionCode, sinceStart);
            }
        }

        if (Pending && !after.IsPending)
        {
            metrics.Ended(after.StatusValue, after.StatusValue == VerificationStatus.Approved ? sinceStart : null);
        }
    }
}
