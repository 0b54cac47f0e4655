using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using OtpFailover.Codes;

namespace OtpFailover.Abuse;

/// <summary>
/// Who is starting verifications, as the caller tells us: the visitor's IP address (<c>clientIp</c>) or any key of
/// the caller's choosing (<c>clientKey</c>, for example a session or device id). Stored only as a keyed hash.
/// </summary>
public sealed class ClientKeys(ServerSecret secret)
{
    public const int MaxKeyLength = 128;

    /// <summary>
    /// The subject an IP address counts against: an IPv4 address as it is, an IPv6 address by its /64 prefix (one
    /// subscriber usually holds a whole /64, so counting single addresses would be no limit at all).
    /// </summary>
    public static bool TryNormalizeIp(string? value, [NotNullWhen(true)] out string? subject)
    {
        subject = null;
        if (string.IsNullOrWhiteSpace(value) || value.Length > 64 || !IPAddress.TryParse(value.Trim(), out var address))
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes();
            Array.Clear(bytes, 8, 8);
            address = new IPAddress(bytes);
            subject = $"ip:{address}/64";
            return true;
        }

        subject = $"ip:{address}";
        return true;
    }

    /// <summary>A caller-chosen key: 1 to <see cref="MaxKeyLength"/> printable ASCII characters.</summary>
    public static bool TryNormalizeKey(string? value, [NotNullWhen(true)] out string? subject)
    {
        subject = null;
        if (string.IsNullOrEmpty(value) || value.Length > MaxKeyLength || !value.All(c => c is >= '!' and <= '~'))
        {
            return false;
        }

        subject = $"key:{value}";
        return true;
    }

    /// <summary>The keyed, non-reversible index of a subject (lower-case hex), as rows hold it.</summary>
    public string Index(string subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        return Convert.ToHexStringLower(HMACSHA256.HashData(secret.ClientIndexKey, Encoding.UTF8.GetBytes(subject)));
    }

    /// <summary>
    /// The keyed index of an <c>Idempotency-Key</c> header value, as rows hold it, scoped to the clients the start
    /// names: the same key from another client (another IP address or client key) is another key, so a key that leaks
    /// or is guessed does not hand one visitor's verification to another.
    /// </summary>
    public string IdempotencyKeyIndex(string idempotencyKey, IReadOnlyList<string> clientSubjects)
    {
        ArgumentNullException.ThrowIfNull(idempotencyKey);
        ArgumentNullException.ThrowIfNull(clientSubjects);
        var scope = string.Join('\n', clientSubjects.Order(StringComparer.Ordinal));
        return Convert.ToHexStringLower(HMACSHA256.HashData(secret.IdempotencyKeyIndexKey, Encoding.UTF8.GetBytes($"{idempotencyKey}\n{scope}")));
    }
}
