using System.Net;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using OtpFailover.Verifications;

namespace OtpFailover.Storage;

/// <summary>What claiming an idempotency key found.</summary>
/// <param name="VerificationId">The verification the key is bound to: the caller's own new id when it claimed the key.</param>
public sealed record IdempotencyClaim(bool Claimed, string VerificationId);

/// <summary>
/// Verification rows, phone-number locks and idempotency keys in Azure Table Storage. Every change is read, changed
/// and written back under the row's ETag, and retried on a conflict, so parallel requests never lose an update.
/// </summary>
public sealed partial class VerificationStore(AppTable table, TimeProvider time, ILogger<VerificationStore> logger)
{
    /// <summary>
    /// A claimed idempotency key whose start never finished (a process killed mid-start) may be taken over after this
    /// long: far longer than any start takes, so a slow start is never doubled.
    /// </summary>
    public static readonly TimeSpan AbandonedClaimAfter = TimeSpan.FromMinutes(2);

    private const int MaxConflictRetries = 100;

    public async Task<VerificationEntity?> FindAsync(string id, CancellationToken cancellationToken = default)
    {
        var client = await table.GetAsync(cancellationToken);
        var response = await client.GetEntityIfExistsAsync<VerificationEntity>(id, VerificationEntity.VerificationRowKey, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>
    /// Stores a new verification and takes its phone number's lock. A verification still in flight for the number
    /// is superseded: it ends <c>canceled</c> (detail <c>superseded</c>) before the lock changes hands, so at most one
    /// verification per number is ever pending and nobody is handed another person's verification.
    /// </summary>
    /// <returns>The verifications this start ended, with how they ended (their orchestrations must be told).</returns>
    public async Task<IReadOnlyList<(string Id, VerificationStatus Status)>> CreateAsync(VerificationEntity entity, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entity);
        var client = await table.GetAsync(cancellationToken);

        // The row goes first: whoever holds a lock always points at a row that exists.
        await client.AddEntityAsync(entity, cancellationToken);
        return await TakePhoneLockAsync(client, entity.PhoneIndex, entity.Id, cancellationToken);
    }

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

    private async Task<(VerificationEntity Entity, bool Changed)?> UpdateAsync(string id, VerificationEntity? current, Func<VerificationEntity, bool> change, CancellationToken cancellationToken, bool releasePhoneOnEnd = true)
    {
        ArgumentNullException.ThrowIfNull(change);
        var client = await table.GetAsync(cancellationToken);
        var operation = OperationStamps.NewOperation();
        var wasPendingBeforeUs = (bool?)null;
        for (var attempt = 0; ; attempt++)
        {
            var entity = attempt == 0 && current is not null ? current : await FindAsync(id, cancellationToken);
            if (entity is null)
            {
                return null;
            }

            if (wasPendingBeforeUs is { } before && entity.WasWrittenBy(operation))
            {
                // Our write reached the table and only its answer was lost: the change is there, do not apply it again.
                return await AfterWriteAsync(client, entity, before, releasePhoneOnEnd, cancellationToken);
            }

            var wasPending = entity.IsPending;
            if (!change(entity))
            {
                return (entity, false);
            }

            entity.Stamp(operation);
            try
            {
                wasPendingBeforeUs = wasPending;
                var response = await client.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken);
                entity.ETag = response.Headers.ETag ?? entity.ETag;
            }
            catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.PreconditionFailed && attempt < MaxConflictRetries)
            {
                LogConflict(id, attempt + 1);
                await ConflictBackoff.DelayAsync(attempt, cancellationToken);
                continue;
            }

            return await AfterWriteAsync(client, entity, wasPending, releasePhoneOnEnd, cancellationToken);
        }
    }

    private async Task<(VerificationEntity Entity, bool Changed)?> AfterWriteAsync(TableClient client, VerificationEntity entity, bool wasPending, bool releasePhoneOnEnd, CancellationToken cancellationToken)
    {
        if (releasePhoneOnEnd && wasPending && !entity.IsPending)
        {
            await ReleasePhoneBestEffortAsync(client, entity, cancellationToken);
        }

        return (entity, true);
    }

    /// <summary>Remembers which verification a provider's message id belongs to (idempotent).</summary>
    public async Task IndexProviderMessageAsync(Channel channel, string providerMessageId, string verificationId, CancellationToken cancellationToken = default)
    {
        var client = await table.GetAsync(cancellationToken);
        await client.UpsertEntityAsync(new MessageIndexEntity { PartitionKey = MessageIndexEntity.PartitionFor(channel, providerMessageId), VerificationId = verificationId }, TableUpdateMode.Replace, cancellationToken);
    }

    public async Task<string?> FindByProviderMessageAsync(Channel channel, string providerMessageId, CancellationToken cancellationToken = default)
    {
        var client = await table.GetAsync(cancellationToken);
        var response = await client.GetEntityIfExistsAsync<MessageIndexEntity>(MessageIndexEntity.PartitionFor(channel, providerMessageId), MessageIndexEntity.IndexRowKey, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value!.VerificationId : null;
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

    private async Task<IReadOnlyList<(string Id, VerificationStatus Status)>> TakePhoneLockAsync(TableClient client, string phoneIndex, string verificationId, CancellationToken cancellationToken)
    {
        var partition = PhoneLockEntity.PartitionFor(phoneIndex);
        var superseded = new List<(string Id, VerificationStatus Status)>();
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await client.AddEntityAsync(new PhoneLockEntity { PartitionKey = partition, VerificationId = verificationId }, cancellationToken);
                return superseded;
            }
            catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.Conflict)
            {
            }

            var existing = await client.GetEntityIfExistsAsync<PhoneLockEntity>(partition, PhoneLockEntity.LockRowKey, cancellationToken: cancellationToken);
            if (!existing.HasValue)
            {
                continue; // released in between: try to add again
            }

            var holder = existing.Value!;
            if (holder.VerificationId == verificationId)
            {
                return superseded;
            }

            // End the holder first, keeping the lock (it is about to change hands), so that whoever holds the lock
            // at the end is the one verification left pending for the number.
            var ended = await UpdateAsync(holder.VerificationId, null, entity =>
            {
                if (!entity.IsPending)
                {
                    return false;
                }

                // One past its lifetime has expired already (its orchestration has yet to say so): it is not superseded.
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
            }, cancellationToken, releasePhoneOnEnd: false);
            if (ended is { Changed: true, Entity: var endedEntity })
            {
                superseded.Add((endedEntity.Id, endedEntity.StatusValue));
            }

            try
            {
                holder.VerificationId = verificationId;
                await client.UpdateEntityAsync(holder, holder.ETag, TableUpdateMode.Replace, cancellationToken);
                return superseded;
            }
            catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound && attempt < MaxConflictRetries)
            {
                // Another start took the lock first: supersede that one too.
            }
        }
    }

    public const string SupersededDetail = "superseded";

    /// <summary>
    /// Frees the number once its verification ended. Best effort: the ended row is already the truth, and a lock that
    /// points at an ended verification is taken over by the next start, so a failure here must not fail the caller.
    /// </summary>
    private async Task ReleasePhoneBestEffortAsync(TableClient client, VerificationEntity entity, CancellationToken cancellationToken)
    {
        try
        {
            var partition = PhoneLockEntity.PartitionFor(entity.PhoneIndex);
            var existing = await client.GetEntityIfExistsAsync<PhoneLockEntity>(partition, PhoneLockEntity.LockRowKey, cancellationToken: cancellationToken);
            if (!existing.HasValue || existing.Value!.VerificationId != entity.Id)
            {
                return;
            }

            await client.DeleteEntityAsync(partition, PhoneLockEntity.LockRowKey, existing.Value.ETag, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound)
        {
            // Taken over or released by someone else: nothing of ours to release.
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogReleaseFailed(ex, entity.Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Verification {VerificationId} changed under us; retrying (attempt {Attempt})")]
    private partial void LogConflict(string verificationId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The idempotency key of verification {VerificationId}, whose start did not finish, could not be released now; it is taken over once abandoned")]
    private partial void LogIdempotencyReleaseFailed(Exception exception, string verificationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId} ended, but its number's lock could not be released now; the next start takes it over")]
    private partial void LogReleaseFailed(Exception exception, string verificationId);
}
