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
    private const int NonceSize = 12;
    private const int TagSize = 16;

    /// <summary>A stable, keyed, non-reversible index of the number (lower-case hex).</summary>
    public string Index(PhoneNumber phoneNumber)
    {
        ArgumentNullException.ThrowIfNull(phoneNumber);
        return Convert.ToHexStringLower(HMACSHA256.HashData(secret.PhoneIndexKey, Encoding.ASCII.GetBytes(phoneNumber.E164)));
    }

    public byte[] Encrypt(PhoneNumber phoneNumber, string verificationId)
    {
        ArgumentNullException.ThrowIfNull(phoneNumber);
        var plaintext = Encoding.ASCII.GetBytes(phoneNumber.E164);
        var sealedBox = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = sealedBox.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(secret.PhoneEncryptionKey, TagSize);
        aes.Encrypt(nonce, plaintext, sealedBox.AsSpan(NonceSize, plaintext.Length), sealedBox.AsSpan(NonceSize + plaintext.Length), Encoding.UTF8.GetBytes(verificationId));
        return sealedBox;
    }

    public PhoneNumber Decrypt(byte[] sealedBox, string verificationId)
    {
        ArgumentNullException.ThrowIfNull(sealedBox);
        if (sealedBox.Length <= NonceSize + TagSize)
        {
            throw new CryptographicException("The stored phone number is too short to be a ciphertext.");
        }

        var length = sealedBox.Length - NonceSize - TagSize;
        var plaintext = new byte[length];
        using var aes = new AesGcm(secret.PhoneEncryptionKey, TagSize);
        aes.Decrypt(sealedBox.AsSpan(0, NonceSize), sealedBox.AsSpan(NonceSize, length), sealedBox.AsSpan(NonceSize + length), plaintext, Encoding.UTF8.GetBytes(verificationId));
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
