using System.Text.Json;

namespace OtpFailover.Simulator;

/// <summary>
/// What the Functions host's <c>GET /admin/host/status</c> answers: its <c>state</c> (<c>Default</c>,
/// <c>Starting</c>, <c>Initialized</c>, <c>Running</c>, <c>Error</c>, <c>Stopping</c>, <c>Stopped</c>, <c>Offline</c>)
/// and, in <c>Error</c>, the <c>errors</c> that stopped it.
/// </summary>
public sealed record HostStatus(string State, IReadOnlyList<string> Errors)
{
    /// <summary>The status in a body, or null when the body is not one.</summary>
    public static HostStatus? Read(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("state", out var state) || state.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            var errors = document.RootElement.TryGetProperty("errors", out var list) && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
                : [];
            return new HostStatus(state.GetString()!, errors);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
