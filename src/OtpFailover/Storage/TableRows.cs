using System.Net;
using Azure;
using Azure.Data.Tables;

namespace OtpFailover.Storage;

/// <summary>A row as an optimistic update left it, and whether this update wrote it.</summary>
/// <param name="Result">What the change said (for a change that was already written, what it said then).</param>
public readonly record struct RowUpdate<TEntity, TResult>(TEntity Entity, bool Changed, TResult Result);

/// <summary>
/// Reading and writing one row of the app's table. Every change in the app is <see cref="UpdateAsync"/>: read, change,
/// write under the row's ETag, and on a conflict read again and change again, so parallel writers never lose an update.
/// </summary>
public static class TableRows
{
    private const int MaxConflictRetries = 100;

    public static async Task<TEntity?> FindAsync<TEntity>(TableClient client, string partition, string row, CancellationToken cancellationToken)
        where TEntity : class, ITableEntity
    {
        ArgumentNullException.ThrowIfNull(client);
        var response = await client.GetEntityIfExistsAsync<TEntity>(partition, row, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>Adds a new row, or replaces one under the ETag it was read with; the row takes the new ETag.</summary>
    public static async Task WriteAsync(TableClient client, ITableEntity entity, bool isNew, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(entity);
        var response = isNew
            ? await client.AddEntityAsync(entity, cancellationToken)
            : await client.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken);
        entity.ETag = response.Headers.ETag ?? entity.ETag;
    }

    /// <summary>
    /// Reads the row (or starts from <paramref name="current"/>, just read), applies <paramref name="change"/>, and
    /// writes it under its ETag; on a conflict, or a row the purge took away meanwhile (404), it reads and changes
    /// again. <paramref name="change"/> may run more than once and says whether to write. A row that carries operation
    /// stamps (<see cref="IOperationStamped"/>) is recognised when a write reached the table but its answer was lost
    /// (the client's own retry then meets 412, or 409 for an insert): the change is not applied twice.
    /// </summary>
    /// <param name="create">Makes the row when there is none; null: no row, no change (the result is null).</param>
    /// <param name="conflicted">Told the attempt number whenever a write lost to another writer.</param>
    public static async Task<RowUpdate<TEntity, TResult>?> UpdateAsync<TEntity, TResult>(
        TableClient client,
        string partition,
        string row,
        Func<TEntity, (bool Write, TResult Result)> change,
        Func<TEntity>? create = null,
        TEntity? current = null,
        Action<int>? conflicted = null,
        CancellationToken cancellationToken = default)
        where TEntity : class, ITableEntity
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(change);
        var operation = OperationStamps.NewOperation();
        var written = default(TResult);
        var wrote = false;
        for (var attempt = 0; ; attempt++)
        {
            var existing = attempt == 0 && current is not null ? current : await FindAsync<TEntity>(client, partition, row, cancellationToken);
            if (wrote && existing is IOperationStamped stamped && stamped.WasWrittenBy(operation))
            {
                // Our write reached the table and only its answer was lost: the change is there, do not apply it again.
                return new RowUpdate<TEntity, TResult>(existing, true, written!);
            }

            if (existing is null && create is null)
            {
                return null;
            }

            var entity = existing ?? create!();
            var (write, result) = change(entity);
            if (!write)
            {
                return new RowUpdate<TEntity, TResult>(entity, false, result);
            }

            (entity as IOperationStamped)?.Stamp(operation);
            try
            {
                (written, wrote) = (result, true);
                await WriteAsync(client, entity, existing is null, cancellationToken);
                return new RowUpdate<TEntity, TResult>(entity, true, result);
            }
            catch (RequestFailedException ex) when (IsLostRace(ex.Status, inserted: existing is null) && attempt < MaxConflictRetries)
            {
                conflicted?.Invoke(attempt + 1);
                await ConflictBackoff.DelayAsync(attempt, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Another writer got there first: an insert meets 409 (the row exists now), a replace 412 (its ETag moved on) or
    /// 404 (the purge took an idle row away since it was read).
    /// </summary>
    private static bool IsLostRace(int status, bool inserted) =>
        status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound || (inserted && status == (int)HttpStatusCode.Conflict);
}
