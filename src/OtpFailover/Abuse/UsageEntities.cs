using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure;
using Azure.Data.Tables;
using OtpFailover.Storage;

namespace OtpFailover.Abuse;

/// <summary>
/// What one number (partition <c>usage-number-{keyed hash}</c>) or one client key (<c>usage-client-{keyed hash}</c>)
/// did lately: the starts, SMS and wrong codes, each a log of (id, time) kept for its longest window, and, for a
/// number, its verification in flight. One row per subject, so a decision and its record are one ETag-guarded write,
/// exact however many requests race.
/// </summary>
public sealed class UsageEntity : ITableEntity
{
    internal const string UsageRowKey = "usage";

    public string PartitionKey { get; set; } = string.Empty;

    public string RowKey { get; set; } = UsageRowKey;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string Starts { get; set; } = "[]";

    public string Sms { get; set; } = "[]";

    public string FailedChecks { get; set; } = "[]";

    /// <summary>On an address's row: the emails sent to it, one per verification.</summary>
    public string Emails { get; set; } = "[]";

    /// <summary>
    /// On a number's row: its latest verification, the one in flight while it is pending. A start writes itself here
    /// with its usage, in one ETag-guarded write, so at most one verification per number is ever pending.
    /// </summary>
    public string? Holder { get; set; }

    internal static string NumberPartition(string phoneIndex) => $"usage-number-{phoneIndex}";

    internal static string ClientPartition(string clientIndex) => $"usage-client-{clientIndex}";

    internal static string EmailPartition(string emailIndex) => $"usage-email-{emailIndex}";
}

/// <summary>
/// SMS sent to one region in one clock hour (partition <c>budget-sms-{region}</c>, row <c>yyyyMMddHH</c> UTC). A
/// counter, not a log: a region's hour can hold thousands. <see cref="Alerted"/> makes the operator's error once per hour.
/// </summary>
public sealed class SmsBudgetEntity : ITableEntity, IOperationStamped
{
    public string PartitionKey { get; set; } = string.Empty;

    public string RowKey { get; set; } = string.Empty;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public int Count { get; set; }

    public bool Alerted { get; set; }

    /// <summary>The operations that wrote the row last (see <see cref="IOperationStamped"/>).</summary>
    public string? Operations { get; set; }

    internal static string PartitionFor(string regionCode) => $"budget-sms-{regionCode}";

    internal static string RowFor(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMddHH", CultureInfo.InvariantCulture);
}

/// <summary>A sliding-window log: events with an id, so recording the same event twice counts it once.</summary>
internal sealed class UsageLog
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly List<Entry> _entries;

    private UsageLog(List<Entry> entries) => _entries = entries;

    public int Count => _entries.Count;

    public static UsageLog Parse(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return new UsageLog([]);
        }

        try
        {
            return new UsageLog(JsonSerializer.Deserialize<List<Entry>>(json, Json) ?? []);
        }
        catch (JsonException)
        {
            return new UsageLog([]); // a row we cannot read counts as empty rather than locking a number out for good
        }
    }

    public string Serialize() => JsonSerializer.Serialize(_entries, Json);

    public bool Contains(string id) => _entries.Exists(e => e.Id == id);

    /// <summary>The time of the newest event, or null for an empty log.</summary>
    public DateTimeOffset? Newest => _entries.Count == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(_entries.Max(e => e.At));

    public void Add(string id, DateTimeOffset at) => _entries.Add(new Entry(id, at.ToUnixTimeMilliseconds()));

    public bool Remove(string id) => _entries.RemoveAll(e => e.Id == id) > 0;

    /// <summary>Forgets events older than <paramref name="keep"/>: nothing needs them any more.</summary>
    public void Prune(DateTimeOffset now, TimeSpan keep)
    {
        var oldest = (now - keep).ToUnixTimeMilliseconds();
        _entries.RemoveAll(e => e.At <= oldest);
    }

    /// <summary>Null when one more event fits <paramref name="rule"/>; otherwise how long until one does.</summary>
    public TimeSpan? WaitBeforeNext(RateLimitRule rule, DateTimeOffset now)
    {
        if (!rule.IsOn)
        {
            return null;
        }

        var since = (now - rule.Window).ToUnixTimeMilliseconds();
        var within = _entries.Where(e => e.At > since).Select(e => e.At).Order().ToList();
        if (within.Count < rule.Limit)
        {
            return null;
        }

        // The window must lose (count - limit + 1) events before one more fits: wait for that one to leave it.
        var freedAt = DateTimeOffset.FromUnixTimeMilliseconds(within[within.Count - rule.Limit]) + rule.Window;
        return freedAt - now;
    }

    private sealed record Entry([property: JsonPropertyName("i")] string Id, [property: JsonPropertyName("t")] long At);
}
