using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

/// <summary>The <c>ReadVerification</c> activity: what the row says now, for the workflow to decide by instead of a late signal.</summary>
public sealed class ReadVerification(VerificationStore store)
{
    /// <summary>One point read. A row that is gone reads as failed: nothing is left to do for it.</summary>
    public async Task<VerificationSnapshot> RunAsync(string verificationId, CancellationToken cancellationToken)
    {
        var entity = await store.FindAsync(verificationId, cancellationToken);
        return entity is null
            ? new VerificationSnapshot(VerificationStatus.Failed, false, [])
            : new VerificationSnapshot(entity.StatusValue, entity.ResendRequestedAt is not null, [.. entity.ReadSends().Select(s => new ChannelDelivery(s.Channel, s.Delivery))]);
    }
}
