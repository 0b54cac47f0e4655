using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;

namespace OtpFailover.AzureCommunication;

/// <summary>
/// Azure Communication Services' HMAC-SHA256 request signing: a content hash header, a date header, and an
/// <c>Authorization</c> header signing <c>VERB\nPathAndQuery\ndate;authority;hash</c> with the Base64-decoded key.
/// </summary>
public static class AcsHmacSigning
{
    public const string DateHeader = "x-ms-date";
    public const string ContentHashHeader = "x-ms-content-sha256";

    public static string ContentHash(ReadOnlySpan<byte> body) => Convert.ToBase64String(SHA256.HashData(body));

    public static string FormatDate(DateTimeOffset at) => at.ToUniversalTime().ToString("r", CultureInfo.InvariantCulture);

    public static string StringToSign(string method, Uri uri, string date, string contentHash)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(uri);
        return $"{method.ToUpperInvariant()}\n{uri.PathAndQuery}\n{date};{uri.Authority};{contentHash}";
    }

    public static string Signature(byte[] accessKey, string stringToSign) =>
        Convert.ToBase64String(HMACSHA256.HashData(accessKey, Encoding.ASCII.GetBytes(stringToSign)));

    public static string AuthorizationValue(string signature) =>
        $"SignedHeaders={DateHeader};host;{ContentHashHeader}&Signature={signature}";
}

/// <summary>Signs every outgoing request with the connection string's access key, at the moment it is sent.</summary>
public sealed class AcsHmacAuthenticationHandler(AcsConnectionString connectionString, TimeProvider time) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var hash = AcsHmacSigning.ContentHash(body);
        var date = AcsHmacSigning.FormatDate(time.GetUtcNow());
        var signature = AcsHmacSigning.Signature(connectionString.AccessKey, AcsHmacSigning.StringToSign(request.Method.Method, request.RequestUri!, date, hash));

        request.Headers.Remove(AcsHmacSigning.DateHeader);
        request.Headers.Remove(AcsHmacSigning.ContentHashHeader);
        request.Headers.TryAddWithoutValidation(AcsHmacSigning.DateHeader, date);
        request.Headers.TryAddWithoutValidation("Date", date);
        request.Headers.TryAddWithoutValidation(AcsHmacSigning.ContentHashHeader, hash);
        request.Headers.Authorization = new AuthenticationHeaderValue("HMAC-SHA256", AcsHmacSigning.AuthorizationValue(signature));
        return await base.SendAsync(request, cancellationToken);
    }
}

/// <summary>Entra ID: a bearer token for Communication Services (managed identity in Azure).</summary>
public sealed class AcsEntraIdAuthenticationHandler(TokenCredential credential) : DelegatingHandler
{
    /// <summary>The double slash is part of the scope.</summary>
    public const string Scope = "https://communication.azure.com//.default";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var token = await credential.GetTokenAsync(new TokenRequestContext([Scope]), cancellationToken);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
        return await base.SendAsync(request, cancellationToken);
    }
}
