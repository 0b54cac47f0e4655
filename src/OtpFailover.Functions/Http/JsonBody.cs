using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace OtpFailover.Functions.Http;

/// <summary>Reads a small JSON request body, answering a clear problem instead of throwing.</summary>
public static partial class JsonBody
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
            return (null, ApiProblems.InvalidRequest(DescribeJsonError(ex)));
        }
    }

    /// <summary>
    /// Where the body went wrong, in our words: the parser's own message is .NET's text (type names, internals) and
    /// never goes into an answer. The JSON path is included only when it names one of our properties.
    /// </summary>
    public static string DescribeJsonError(JsonException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var where = exception.Path is { } path && SafePath().IsMatch(path) && path != "$" ? $" at {path}" : string.Empty;
        var position = exception.LineNumber is { } line && exception.BytePositionInLine is { } column
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $" (line {line + 1}, byte {column + 1})")
            : string.Empty;
        return $"The body is not valid JSON for this request{where}{position}: it must be a JSON object with the documented properties and types.";
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\$(\.[A-Za-z]{1,40})*\z", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex SafePath();
}
