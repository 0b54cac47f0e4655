using Azure.Data.Tables;
using Microsoft.Extensions.Options;

namespace OtpFailover.Storage;

/// <summary>
/// The app's one table (<see cref="StorageOptions.TableName"/>): verifications, number locks, message indexes,
/// idempotency keys and usage counters, told apart by their partition key's prefix. Created on first use.
/// </summary>
public sealed class AppTable : IDisposable
{
    private readonly TableClient _client;
    private readonly SemaphoreSlim _createGate = new(1, 1);
    private volatile bool _ready;

    public AppTable(TableServiceClient service, IOptions<StorageOptions> options)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        _client = service.GetTableClient(options.Value.TableName);
    }

    /// <summary>The table client, once the table exists.</summary>
    public async ValueTask<TableClient> GetAsync(CancellationToken cancellationToken)
    {
        if (_ready)
        {
            return _client;
        }

        await _createGate.WaitAsync(cancellationToken);
        try
        {
            if (!_ready)
            {
                await _client.CreateIfNotExistsAsync(cancellationToken);
                _ready = true;
            }
        }
        finally
        {
            _createGate.Release();
        }

        return _client;
    }

    public void Dispose() => _createGate.Dispose();
}
