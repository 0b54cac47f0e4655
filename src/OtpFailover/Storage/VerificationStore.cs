using System.Net;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpFailover.Verifications;

namespace OtpFailover.Storage;

/// <summary>
/// Verification rows and phone-number locks in Azure Table Storage. Every change is read, changed and written back
/// under the row's ETag, and retried on a conflict, so parallel requests never lose an update.
/// </summary>
public sealed partial class VerificationStore : IDisposable
{
    private const int MaxConflictRetries = 100;
    private readonly TableClient _table;
    private readonly TimeProvider _time;
    private readonly ILogger<VerificationStore> _logger;
    private readonly SemaphoreSlim _createGate = new(1, 1);
    private volatile bool _tableReady;

    public VerificationStore(TableServiceClient service, IOptions<StorageOptions> options, TimeProvider time, ILogger<VerificationStore> logger)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        _table = service.GetTableClient(options.Value.TableName);
        _time = time;
        _logger = logger;
    }

    public async Task<VerificationEntity?> FindAsync(string id, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken);
        var response = await _table.GetEntityIfExistsAsync<VerificationEntity>(id, VerificationEntity.VerificationRowKey, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>
    /// Stores a new verification and claims its phone number. When another verification for the number is still in
    /// flight, nothing is stored and that verification's id is returned instead.
    /// </summary>
    public async Task<string?> CreateAsync(VerificationEntity entity, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entity);
        await EnsureTableAsync(cancellationToken);

        // The row goes first: whoever holds a lock always points at a row that exists.
        await _table.AddEntityAsync(entity, cancellationToken);
        var holder = await ClaimPhoneAsync(entity.PhoneIndex, entity.Id, cancellationToken);
        if (holder == entity.Id)
        {
            return null;
        }

        await _table.DeleteEntityAsync(entity.PartitionKey, entity.RowKey, ETag.All, cancellationToken);
        return holder;
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the current row and writes it under the row's ETag, retrying on a
    /// conflict with a fresh read. <paramref name="change"/> returns false to write nothing; it may run more than once.
    /// </summary>
    /// <returns>The row as it stands after the call, and whether this call changed it; null when there is no such row.</returns>
    public async Task<(VerificationEntity Entity, bool Changed)?> UpdateAsync(string id, Func<VerificationEntity, bool> change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        await EnsureTableAsync(cancellationToken);
        for (var attempt = 0; ; attempt++)
        {
            var entity = await FindAsync(id, cancellationToken);
            if (entity is null)
            {
                return null;
            }

            var wasPending = entity.IsPending;
            if (!change(entity))
            {
                return (entity, false);
            }

            try
            {
                var response = await _table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken);
                entity.ETag = response.Headers.ETag ?? entity.ETag;
                if (wasPending && !entity.IsPending)
                {
                    await ReleasePhoneAsync(entity.PhoneIndex, entity.Id, cancellationToken);
                }

                return (entity, true);
            }
            catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.PreconditionFailed && attempt < MaxConflictRetries)
            {
                LogConflict(id, attempt + 1);
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20 + (attempt * 5))), _time, cancellationToken);
            }
        }
    }

    /// <summary>Remembers which verification a provider's message id belongs to (idempotent).</summary>
    public async Task IndexProviderMessageAsync(Channel channel, string providerMessageId, string verificationId, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken);
        await _table.UpsertEntityAsync(new MessageIndexEntity { PartitionKey = MessageIndexEntity.PartitionFor(channel, providerMessageId), VerificationId = verificationId }, TableUpdateMode.Replace, cancellationToken);
    }

    public async Task<string?> FindByProviderMessageAsync(Channel channel, string providerMessageId, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken);
        var response = await _table.GetEntityIfExistsAsync<MessageIndexEntity>(MessageIndexEntity.PartitionFor(channel, providerMessageId), MessageIndexEntity.IndexRowKey, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value!.VerificationId : null;
    }

    private async Task<string> ClaimPhoneAsync(string phoneIndex, string verificationId, CancellationToken cancellationToken)
    {
        var partition = PhoneLockEntity.PartitionFor(phoneIndex);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await _table.AddEntityAsync(new PhoneLockEntity { PartitionKey = partition, VerificationId = verificationId }, cancellationToken);
                return verificationId;
            }
            catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.Conflict)
            {
            }

            var existing = await _table.GetEntityIfExistsAsync<PhoneLockEntity>(partition, PhoneLockEntity.LockRowKey, cancellationToken: cancellationToken);
            if (!existing.HasValue)
            {
                continue; // released in between: try to add again
            }

            var holder = existing.Value!;
            var held = await FindAsync(holder.VerificationId, cancellationToken);
            if (held is not null && held.IsPending && _time.GetUtcNow() < held.ExpiresAt)
            {
                return holder.VerificationId;
            }

            // The holder has ended or expired without releasing: take the lock over, unless someone else just did.
            try
            {
                holder.VerificationId = verificationId;
                await _table.UpdateEntityAsync(holder, holder.ETag, TableUpdateMode.Replace, cancellationToken);
                return verificationId;
            }
            catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound && attempt < MaxConflictRetries)
            {
            }
        }
    }

    private async Task ReleasePhoneAsync(string phoneIndex, string verificationId, CancellationToken cancellationToken)
    {
        var partition = PhoneLockEntity.PartitionFor(phoneIndex);
        var existing = await _table.GetEntityIfExistsAsync<PhoneLockEntity>(partition, PhoneLockEntity.LockRowKey, cancellationToken: cancellationToken);
        if (!existing.HasValue || existing.Value!.VerificationId != verificationId)
        {
            return;
        }

        try
        {
            await _table.DeleteEntityAsync(partition, PhoneLockEntity.LockRowKey, existing.Value.ETag, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound)
        {
            // Taken over or released by someone else: nothing of ours to release.
        }
    }

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (_tableReady)
        {
            return;
        }

        await _createGate.WaitAsync(cancellationToken);
        try
        {
            if (!_tableReady)
            {
                await _table.CreateIfNotExistsAsync(cancellationToken);
                _tableReady = true;
            }
        }
        finally
        {
            _createGate.Release();
        }
    }

    public void Dispose() => _createGate.Dispose();

    [LoggerMessage(Level = LogLevel.Debug, Message = "Verification {VerificationId} changed under us; retrying (attempt {Attempt})")]
    private partial void LogConflict(string verificationId, int attempt);
}
