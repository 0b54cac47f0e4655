using System.Net;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using OtpFailover.Channels;
using OtpFailover.Codes;
using OtpFailover.Storage;
using OtpFailover.Telemetry;

namespace OtpFailover.Verifications;

/// <summary>What claiming an idempotency key found.</summary>
/// <param name="VerificationId">The verification the key is bound to: the caller's own new id when it claimed the key.</param>
public sealed record IdempotencyClaim(bool Claimed, string VerificationId);

/// <summary>
/// Verification rows and idempotency keys in Azure Table Storage. Every change is read, changed
/// and written back under the row's ETag, and retried on a conflict, so parallel requests never lose an update.
/// </summary>
public sealed partial class VerificationStore(AppTable table, TimeProvider time, ILogger<VerificationStore> logger, OtpMetrics metrics, ProviderMessageKeys messageKeys)
{
    /// <summary>
    /// A claimed idempotency key whose start never finished (a process killed mid-start) may be taken over after this
    /// long: far longer than any start takes, so a slow start is never doubled.
    /// </summary>
    public static readonly TimeSpan AbandonedClaimAfter = TimeSpan.FromMinutes(2);

    private const int MaxConflictRetries = 100;

    public async Task<VerificationEntity?> FindAsync(string id, CancellationToken cancellationToken = default) =>
        await TableRows.FindAsync<VerificationEntity>(await table.GetAsync(cancellationToken), id, VerificationEntity.VerificationRowKey, cancellationToken);

    /// <summary>Stores a new verification. Which verification a number has in flight is the number's usage row's to say.</summary>
    public async Task InsertAsync(VerificationEntity entity, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entity);
        var client = await table.GetAsync(cancellationToken);
        await client.AddEntityAsync(entity, cancellationToken);
    }

    /// <summary>Removes a verification that was stored for a start that then did not happen.</summary>
    public async Task DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var client = await table.GetAsync(cancellationToken);
        await client.DeleteEntityAsync(id, VerificationEntity.VerificationRowKey, ETag.All, cancellationToken);
    }

    /// <summary>Updates a verification's share of its number's wrong-code budget, when a start had to judge again.</summary>
    public Task SetFailedChecksBeforeAsync(string id, int failedChecksBefore, CancellationToken cancellationToken = default) =>
        UpdateAsync(id, entity =>
        {
            if (entity.FailedChecksBefore == failedChecksBefore)
            {
                return false;
            }

            entity.FailedChecksBefore = failedChecksBefore;
            return true;
        }, cancellationToken);

    /// <summary>
    /// Applies <paramref name="change"/> to the current row and writes it under the row's ETag, retrying on a
    /// conflict with a fresh read. <paramref name="change"/> returns false to write nothing; it may run more than once.
    /// </summary>
    /// <returns>The row as it stands after the call, and whether this call changed it; null when there is no such row.</returns>
    public Task<(VerificationEntity Entity, bool Changed)?> UpdateAsync(string id, Func<VerificationEntity, bool> change, CancellationToken cancellationToken = default) =>
        UpdateAsync(id, null, change, cancellationToken);

    /// <summary>As <see cref="UpdateAsync(string, Func{VerificationEntity, bool}, CancellationToken)"/>, starting from a row just read.</summary>
    public Task<(VerificationEntity Entity, bool Changed)?> UpdateAsync(VerificationEntity current, Func<VerificationEntity, bool> change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(current);
        return UpdateAsync(current.Id, current, change, cancellationToken);
    }

    private async Task<(VerificationEntity Entity, bool Changed)?> UpdateAsync(string id, VerificationEntity? current, Func<VerificationEntity, bool> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        var client = await table.GetAsync(cancellationToken);
        var before = default(TransitionMetrics);
        var update = await TableRows.UpdateAsync<VerificationEntity, bool>(
            client,
            id,
            VerificationEntity.VerificationRowKey,
            entity =>
            {
                before = TransitionMetrics.Before(entity);
                var write = change(entity);
                return (write, write);
            },
            current: current,
            conflicted: attempt => LogConflict(id, attempt),
            cancellationToken: cancellationToken);
        if (update is not { } done)
        {
            return null;
        }

        if (done.Changed)
        {
            before.Record(metrics, done.Entity, time.GetUtcNow());
        }

        return (done.Entity, done.Changed);
    }

    /// <summary>
    /// Remembers which verification a provider's message belongs to (idempotent), under the message id's keyed hash
    /// (<see cref="ProviderMessageKeys"/>, as the row keeps it): the id itself may hold the recipient's number.
    /// </summary>
    public async Task IndexProviderMessageAsync(Channel channel, string messageKey, string verificationId, CancellationToken cancellationToken = default)
    {
        var client = await table.GetAsync(cancellationToken);
        await client.UpsertEntityAsync(new MessageIndexEntity { PartitionKey = MessageIndexEntity.PartitionFor(channel, messageKey), VerificationId = verificationId }, TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>
    /// The verification a provider's message id (as a status report names it) belongs to, if it is indexed: under the
    /// id's keyed hash, or, for a send indexed before 1.4, its plain SHA-256 (a second read only when the first finds
    /// nothing; those index rows go with retention, and this fallback with them in the next release).
    /// </summary>
    public async Task<string?> FindByProviderMessageAsync(Channel channel, string providerMessageId, CancellationToken cancellationToken = default)
    {
        var client = await table.GetAsync(cancellationToken);
        foreach (var key in new[] { messageKeys.Of(providerMessageId), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(providerMessageId))) })
        {
            var response = await client.GetEntityIfExistsAsync<MessageIndexEntity>(MessageIndexEntity.PartitionFor(channel, key), MessageIndexEntity.IndexRowKey, cancellationToken: cancellationToken);
            if (response.HasValue)
            {
                return response.Value!.VerificationId;
            }
        }

        return null;
    }

    /// <summary>
    /// Binds an idempotency key (scoped to a number) to <paramref name="verificationId"/> until
    /// <paramref name="expiresAt"/>, unless it is already bound: then the earlier verification's id comes back.
    /// A key whose binding expired, or whose verification never appeared, is taken over.
    /// </summary>
    /// <param name="isAbandoned">
    /// Asked about a binding older than <see cref="AbandonedClaimAfter"/>: whether its start never finished (its
    /// verification is missing, or was never scheduled), so the key may be taken over.
    /// </param>
    public async Task<IdempotencyClaim> ClaimIdempotencyKeyAsync(string phoneIndex, string keyHash, string verificationId, DateTimeOffset expiresAt, Func<string, Task<bool>> isAbandoned, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(isAbandoned);
        var client = await table.GetAsync(cancellationToken);
        var partition = IdempotencyEntity.PartitionFor(phoneIndex);
        for (var attempt = 0; ; attempt++)
        {
            var now = time.GetUtcNow();
            var claim = new IdempotencyEntity { PartitionKey = partition, RowKey = keyHash, VerificationId = verificationId, ClaimedAt = now, ExpiresAt = expiresAt };
            try
            {
                await client.AddEntityAsync(claim, cancellationToken);
                return new IdempotencyClaim(true, verificationId);
            }
            catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.Conflict)
            {
            }

            var existing = await client.GetEntityIfExistsAsync<IdempotencyEntity>(partition, keyHash, cancellationToken: cancellationToken);
            if (!existing.HasValue)
            {
                continue;
            }

            var held = existing.Value!;
            if (held.VerificationId == verificationId)
            {
                return new IdempotencyClaim(true, verificationId); // our own insert, whose answer was lost
            }

            var abandoned = now - held.ClaimedAt > AbandonedClaimAfter && await isAbandoned(held.VerificationId);
            if (now < held.ExpiresAt && !abandoned)
            {
                return new IdempotencyClaim(false, held.VerificationId);
            }

            try
            {
                await client.UpdateEntityAsync(claim, held.ETag, TableUpdateMode.Replace, cancellationToken);
                return new IdempotencyClaim(true, verificationId);
            }
            catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound && attempt < MaxConflictRetries)
            {
            }
        }
    }

    /// <summary>Unbinds an idempotency key this call claimed, when its start was refused (so a retry can start).</summary>
    /// <remarks>Best effort: a binding left behind points at no verification and is taken over once abandoned.</remarks>
    public async Task ReleaseIdempotencyKeyAsync(string phoneIndex, string keyHash, string verificationId, CancellationToken cancellationToken = default)
    {
        try
        {
            var client = await table.GetAsync(cancellationToken);
            var partition = IdempotencyEntity.PartitionFor(phoneIndex);
            var existing = await client.GetEntityIfExistsAsync<IdempotencyEntity>(partition, keyHash, cancellationToken: cancellationToken);
            if (existing.HasValue && existing.Value!.VerificationId == verificationId)
            {
                await client.DeleteEntityAsync(partition, keyHash, existing.Value.ETag, cancellationToken);
            }
        }
        catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound)
        {
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogIdempotencyReleaseFailed(ex, verificationId);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Verification {VerificationId} changed under us; retrying (attempt {Attempt})")]
    private partial void LogConflict(string verificationId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The idempotency key of verification {VerificationId}, whose start did not finish, could not be released now; it is taken over once abandoned")]
    private partial void LogIdempotencyReleaseFailed(Exception exception, string verificationId);

}
