using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace OtpFailover.Simulator;

/// <summary>
/// What every Communication Services endpoint checks of a request, as the service does: an Entra ID bearer token, or
/// the HMAC-SHA256 signature over the method, path and query, <c>x-ms-date</c> (within 15 minutes), the host and the
/// body's SHA-256.
/// </summary>
public static class AcsRequestCheck
{
    private static readonly TimeSpan DateTolerance = TimeSpan.FromMinutes(15);

    public static bool IsAuthenticated(HttpRequest request, byte[] body, byte[] accessKey, string? bearerToken)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (bearerToken is not null && authorization == $"Bearer {bearerToken}")
        {
            return true;
        }

        const string scheme = "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=";
        if (!authorization.StartsWith(scheme, StringComparison.Ordinal))
        {
            return false;
        }

        var date = request.Headers["x-ms-date"].ToString();
        if (!DateTimeOffset.TryParseExact(date, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) || (DateTimeOffset.UtcNow - at).Duration() > DateTolerance)
        {
            return false;
        }

        var contentHash = Convert.ToBase64String(SHA256.HashData(body));
        if (request.Headers["x-ms-content-sha256"].ToString() != contentHash)
        {
            return false;
        }

        var pathAndQuery = request.Path.Value + request.QueryString.Value;
        var stringToSign = $"{request.Method.ToUpperInvariant()}\n{pathAndQuery}\n{date};{request.Host.Value};{contentHash}";
        var expected = Convert.ToBase64String(HMACSHA256.HashData(accessKey, Encoding.ASCII.GetBytes(stringToSign)));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(authorization[scheme.Length..]));
    }

    /// <summary>The request's body, whole: the signature covers its hash.</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        return buffer.ToArray();
    }

    /// <summary>The service's answer to a request without a valid signature or token.</summary>
    public static IResult Denied() =>
        Results.Json(new { error = new { code = "Denied", message = "Denied by the resource provider." } }, statusCode: 401);

    /// <summary>A refusal a behaviour asks for (throttled, an outage): its <c>Retry-After</c>, and its status.</summary>
    public static IResult Refusal(HttpContext context, AcsAnswer answer)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(answer);
        if (answer.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        // As the service answers: an error response body with every refusal.
        return Results.Json(
            new { error = answer.HttpStatus == 429 ? new { code = "TooManyRequests", message = "Too many requests." } : new { code = "Error", message = "The request was not accepted." } },
            statusCode: answer.HttpStatus);
    }

    /// <summary>
    /// For a behaviour that loses the answer after the message went out: drops the connection, or hangs until the
    /// caller gives up, and returns what to answer then; null when the answer is written as usual.
    /// </summary>
    public static async Task<IResult?> LoseTheAnswerAsync(HttpContext context, AcsAnswer answer)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(answer);
        if (answer.ProcessThenDrop)
        {
            context.Abort();
            return Results.Empty;
        }

        if (answer.ProcessThenHang)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return Results.Empty;
        }

        return null;
    }
}
