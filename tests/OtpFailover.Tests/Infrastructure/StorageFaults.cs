using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;

namespace OtpFailover.Tests.Infrastructure;

/// <summary>
/// Injects Table Storage faults into the real client's pipeline: requests that fail, writes to a partition that fail,
/// and a write that reaches the table but whose answer is lost (the client then retries it, as Azure.Core does).
/// </summary>
public sealed class StorageFaults : HttpPipelinePolicy
{
    private string? _loseAnswerOf;
    private int _failNext;

    /// <summary>Writes whose URI or body holds this text fail with 503.</summary>
    public string? FailWritesTo { get; set; }

    /// <summary>Writes whose URI and body match fail with 503 before they reach the table.</summary>
    public Func<string, bool>? FailWritesWhen { get; set; }

    /// <summary>Reads whose URI matches fail with 503 before they reach the table.</summary>
    public Func<string, bool>? FailReadsWhen { get; set; }

    /// <summary>
    /// For a write whose URI and body match: once it reached the table, runs the hook (another writer coming in) and
    /// then loses the answer.
    /// </summary>
    public Func<string, Func<Task>?>? AfterCommitThenLoseAnswer { get; set; }

    /// <summary>For a write under an ETag (an update, a delete) whose URI and body match: runs the hook (another writer, a purge, a clock moved on) before it reaches the table.</summary>
    public Func<string, Func<Task>?>? BeforeConditionalWrite { get; set; }

    /// <summary>For a write whose URI and body match: once it reached the table, throws this instead of answering.</summary>
    public Func<string, Exception?>? ThrowAfterCommit { get; set; }

    /// <summary>The next this many requests fail with 503 before they reach the table.</summary>
    public int FailNext
    {
        get => Volatile.Read(ref _failNext);
        set => Volatile.Write(ref _failNext, value);
    }

    /// <summary>The next write whose URI or body holds <paramref name="fragment"/> reaches the table, and its answer is lost.</summary>
    public void LoseAnswerOfNextWrite(string fragment) => _loseAnswerOf = fragment;

    /// <summary>A table service client whose every request passes through <paramref name="faults"/>.</summary>
    public static TableServiceClient Client(StorageFaults faults, int? maxRetries = null)
    {
        var options = new TableClientOptions();
        options.Retry.Delay = TimeSpan.FromMilliseconds(50);
        if (maxRetries is { } retries)
        {
            options.Retry.MaxRetries = retries;
        }

        options.AddPolicy(faults, HttpPipelinePosition.PerRetry);
        return new TableServiceClient(Azurite.ConnectionString, options);
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        ArgumentNullException.ThrowIfNull(message);
        var request = Uri.UnescapeDataString(message.Request.Uri.ToString());
        if (message.Request.Content is { } content)
        {
            using var buffer = new MemoryStream();
            await content.WriteToAsync(buffer, default);
            request += System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        }

        var write = message.Request.Method != RequestMethod.Get;
        for (var left = FailNext; left > 0; left = FailNext)
        {
            if (Interlocked.CompareExchange(ref _failNext, left - 1, left) == left)
            {
                throw new RequestFailedException(503, "Injected: storage unavailable.");
            }
        }
        if (!write && FailReadsWhen?.Invoke(request) == true)
        {
            throw new RequestFailedException(503, "Injected: partition unavailable.");
        }

        if (write && ((FailWritesTo is { } fragment && request.Contains(fragment, StringComparison.Ordinal)) || FailWritesWhen?.Invoke(request) == true))
        {
            throw new RequestFailedException(503, "Injected: partition unavailable.");
        }

        if (write && message.Request.Headers.TryGetValue("If-Match", out var ifMatch) && ifMatch != "*" && BeforeConditionalWrite?.Invoke(request) is { } before)
        {
            await before();
        }

        await ProcessNextAsync(message, pipeline);
        if (write && AfterCommitThenLoseAnswer?.Invoke(request) is { } hook)
        {
            await hook();
            throw new IOException("Injected: the connection dropped after the write reached the table.");
        }

        if (write && ThrowAfterCommit?.Invoke(request) is { } thrown)
        {
            throw thrown;
        }

        if (write && _loseAnswerOf is { } lose && request.Contains(lose, StringComparison.Ordinal))
        {
            _loseAnswerOf = null;
            throw new IOException("Injected: the connection dropped after the write reached the table.");
        }
    }
}
