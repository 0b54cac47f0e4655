namespace OtpFailover.Storage;

/// <summary>
/// A row that remembers which operations wrote it last. When a write reaches the table but its answer is lost, the
/// client retries it with the same ETag and meets 412; finding its own operation among the row's recent ones tells
/// the writer that the change is already there (even if another writer came in between), so a change that is not
/// idempotent (a counter, an attempt) is not applied twice.
/// </summary>
internal interface IOperationStamped
{
    /// <summary>The ids of the last few operations that wrote the row, newest last, space-separated.</summary>
    string? Operations { get; set; }
}

internal static class OperationStamps
{
    /// <summary>How many recent writers a row remembers: far more than can land inside one client retry's delay.</summary>
    public const int Remembered = 8;

    public static string NewOperation() => Guid.NewGuid().ToString("N");

    public static void Stamp(this IOperationStamped row, string operation)
    {
        var recent = (row.Operations ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries).TakeLast(Remembered - 1);
        row.Operations = string.Join(' ', recent.Append(operation));
    }

    public static bool WasWrittenBy(this IOperationStamped row, string operation) =>
        (row.Operations ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(operation, StringComparer.Ordinal);
}
