using System.Text.Json;
using System.Text.Json.Nodes;

namespace OtpFailover.TestHost;

/// <summary>
/// The Azure Storage backend's tuning as the app's <c>host.json</c> sets it (the build copies that file next to every
/// project that references the Functions project), so that the tests and the benchmark run the engine with the
/// polling interval, partition count and visibility timeouts production runs with, not with numbers of their own.
/// </summary>
public sealed record HostJsonDurableSettings(
    TimeSpan MaxQueuePollingInterval,
    int PartitionCount,
    TimeSpan ControlQueueVisibilityTimeout,
    TimeSpan WorkItemQueueVisibilityTimeout,
    int ControlQueueBatchSize,
    bool ExtendedSessionsEnabled)
{
    private static readonly Lazy<HostJsonDurableSettings> Loaded = new(() => Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "host.json"))));

    /// <summary>The settings of the <c>host.json</c> next to the running assembly.</summary>
    public static HostJsonDurableSettings Current => Loaded.Value;

    /// <summary>
    /// Reads <c>extensions.durableTask</c>; a setting host.json leaves out takes the extension's documented default
    /// (30 s polling, 4 partitions, 5 min visibility, batches of 32, no extended sessions).
    /// </summary>
    public static HostJsonDurableSettings Parse(string json)
    {
        var root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var durable = root?["extensions"]?["durableTask"];
        var storage = durable?["storageProvider"];
        return new HostJsonDurableSettings(
            Time(storage?["maxQueuePollingInterval"], TimeSpan.FromSeconds(30)),
            storage?["partitionCount"]?.GetValue<int>() ?? 4,
            Time(storage?["controlQueueVisibilityTimeout"], TimeSpan.FromMinutes(5)),
            Time(storage?["workItemQueueVisibilityTimeout"], TimeSpan.FromMinutes(5)),
            storage?["controlQueueBatchSize"]?.GetValue<int>() ?? 32,
            durable?["extendedSessionsEnabled"]?.GetValue<bool>() ?? false);
    }

    private static TimeSpan Time(JsonNode? node, TimeSpan fallback) =>
        node is null ? fallback : TimeSpan.Parse(node.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
}
