using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OtpFailover.Codes;

/// <summary>
/// Derives a verification's one-time code from the server secret and the verification id, so the code is never
/// stored anywhere: not in Table rows, not in durable history. Both channels of one verification get the same code.
/// </summary>
public sealed class CodeGenerator(ServerSecret secret)
{
    /// <summary>The code for a verification: <paramref name="length"/> decimal digits.</summary>
    public string Derive(string verificationId, int length)
    {
        ArgumentException.ThrowIfNullOrEmpty(verificationId);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 4);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, 10);

        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(secret.CodeKey, Encoding.UTF8.GetBytes($"{verificationId}|{length}"), mac);

        // 64 bits reduced modulo at most 10^10: the bias is below 10^-9, far under a guess's chance.
        var value = BinaryPrimitives.ReadUInt64BigEndian(mac) % Pow10(length);
        return value.ToString(new string('0', length), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Compares a submitted code with the expected one in constant time.</summary>
    public bool Matches(string verificationId, int length, string submitted)
    {
        ArgumentNullException.ThrowIfNull(submitted);
        var expected = Encoding.ASCII.GetBytes(Derive(verificationId, length));
        var actual = Encoding.ASCII.GetBytes(submitted);
        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }

    private static ulong Pow10(int exponent)
    {
        ulong result = 1;
        for (var i = 0; i < exponent; i++)
        {
            result *= 10;
        }

        return result;
    }
}
