using System.Security.Cryptography;
using System.Text;
using OtpFailover.Codes;

namespace OtpFailover.PhoneNumbers;

/// <summary>
/// Keeps whole phone numbers out of Table rows: rows hold an HMAC of the number (to find a verification in flight)
/// and an AES-GCM ciphertext bound to the verification id (so the activities can send).
/// </summary>
public sealed class PhoneNumberProtector(ServerSecret secret)
{
    /// <summary>A stable, keyed, non-reversible index of the number (lower-case hex).</summary>
    public string Index(PhoneNumber phoneNumber)
    {
        ArgumentNullException.ThrowIfNull(phoneNumber);
        return Convert.ToHexStringLower(HMACSHA256.HashData(secret.PhoneIndexKey, Encoding.ASCII.GetBytes(phoneNumber.E164)));
    }

    public byte[] Encrypt(PhoneNumber phoneNumber, string verificationId)
    {
        ArgumentNullException.ThrowIfNull(phoneNumber);
        return BoundEncryption.Seal(secret.PhoneEncryptionKey, Encoding.ASCII.GetBytes(phoneNumber.E164), verificationId);
    }

    public PhoneNumber Decrypt(byte[] sealedBox, string verificationId)
    {
        var plaintext = BoundEncryption.Open(secret.PhoneEncryptionKey, sealedBox, verificationId);
        try
        {
            return PhoneNumber.FromStoredE164(Encoding.ASCII.GetString(plaintext));
        }
        catch (FormatException ex)
        {
            throw new CryptographicException("The stored phone number did not decrypt to an E.164 number.", ex);
        }
    }
}
