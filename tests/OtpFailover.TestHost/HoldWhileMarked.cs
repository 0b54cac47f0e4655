using Azure.Core;
using Azure.Core.Pipeline;

namespace OtpFailover.TestHost;

/// <summary>
/// Holds storage writes that match while a marker file exists, and says so once on standard output
/// (<c>HELD {what}</c>), so that a test can kill the process at exactly that point: a checkpoint not yet written, or
/// an app write half way through a request.
/// </summary>
public sealed class HoldWhileMarked(string what, string? marker, Func<string, bool> matches) : HttpPipelinePolicy
{
    private int _announced;

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (marker is not null && message.Request.Method != RequestMethod.Get && File.Exists(marker) && matches(await DescribeAsync(message)))
        {
            if (Interlocked.Exchange(ref _announced, 1) == 0)
            {
                Console.Out.WriteLine($"HELD {what}");
                Console.Out.Flush();
            }

            while (File.Exists(marker))
            {
                await Task.Delay(50);
            }
        }

        await ProcessNextAsync(message, pipeline);
    }

    private static async Task<string> DescribeAsync(HttpMessage message)
    {
        var text = Uri.UnescapeDataString(message.Request.Uri.ToString());
        if (message.Request.Content is { } content)
        {
            using var buffer = new MemoryStream();
            await content.WriteToAsync(buffer, default);
            text += System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        }

        return text;
    }
}
