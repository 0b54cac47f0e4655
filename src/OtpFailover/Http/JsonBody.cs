using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace OtpFailover.Http;

/// <summary>Reads a small JSON request body, answering a clear problem instead of throwing.</summary>
public static class JsonBody
{
    public const int MaxBytes = 16 * 1024;
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static async Task<(T? Value, ObjectResult? Problem)> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = await RawBody.ReadAsync(request, MaxBytes, cancellationToken);
        if (body is not { } bytes)
        {
            return (null, ApiProblems.InvalidRequest($"The body must be at most {MaxBytes} bytes."));
        }

        if (bytes.Length == 0)
        {
            return (null, ApiProblems.InvalidRequest("The body must be a JSON object."));
        }

        try
        {
            var value = JsonSerializer.Deserialize<T>(bytes.Span, Options);
            return value is null ? (null, ApiProblems.InvalidRequest("The body must be a JSON object.")) : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, ApiProblems.InvalidRequest($"The body is not valid JSON for this request: {ex.Message}"));
        }
    }
}
