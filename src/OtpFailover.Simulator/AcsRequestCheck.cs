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
}
