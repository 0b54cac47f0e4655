using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace OtpFailover.Callbacks;

/// <summary>
/// Signs a callback as Standard Webhooks does (standardwebhooks.com), so any of its receiver libraries verifies it:
/// <c>webhook-signature: v1,</c> Base64 of HMAC-SHA256 over <c>{webhook-id}.{webhook-timestamp}.{raw body}</c>, with
/// the key that follows <c>whsec_</c> in <see cref="CallbackOptions.SigningKey"/>.
/// </summary>
public sealed class CallbackSigner
{
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";
    public const string KeyPrefix = "whsec_";

    private readonly byte[]? _key;

    public CallbackSigner(IOptions<CallbackOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _key = options.Value.Enabled && TryDecodeKey(options.Value.SigningKey!, out var key) ? key : null;
    }

    /// <summary>The <c>webhook-signature</c> value for one delivery attempt.</summary>
    public string Sign(string eventId, DateTimeOffset timestamp, ReadOnlySpan<byte> body)
    {
        var key = _key ?? throw new InvalidOperationException("Callbacks:SigningKey is not set; callbacks are off.");
        var prefix = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{eventId}.{timestamp.ToUnixTimeSeconds()}."));
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, content));
    }

    internal static bool TryDecodeKey(string value, out byte[] key)
    {
        key = [];
        if (!value.StartsWith(KeyPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var buffer = new byte[value.Length];
        if (!Convert.TryFromBase64String(value[KeyPrefix.Length..], buffer, out var written)
            || written < CallbackOptionsValidator.MinimumKeyBytes || written > CallbackOptionsValidator.MaximumKeyBytes)
        {
            return false;
        }

        key = buffer[..written];
        CryptographicOperations.ZeroMemory(buffer);
        return true;
    }
}
