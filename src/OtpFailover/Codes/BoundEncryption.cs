using System.Security.Cryptography;
using System.Text;

namespace OtpFailover.Codes;

/// <summary>
/// AES-GCM with a purpose key, each ciphertext bound to an id (its associated data): a ciphertext copied to another
/// verification's row does not decrypt there. The nonce is random and stored in front of the ciphertext and tag.
/// </summary>
public static class BoundEncryption
{
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public static byte[] Seal(byte[] key, byte[] plaintext, string boundTo)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        var sealedBox = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = sealedBox.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, plaintext, sealedBox.AsSpan(NonceSize, plaintext.Length), sealedBox.AsSpan(NonceSize + plaintext.Length), Encoding.UTF8.GetBytes(boundTo));
        return sealedBox;
    }

    /// <exception cref="CryptographicException">Not a ciphertext of this key bound to <paramref name="boundTo"/>.</exception>
    public static byte[] Open(byte[] key, byte[] sealedBox, string boundTo)
    {
        ArgumentNullException.ThrowIfNull(sealedBox);
        if (sealedBox.Length <= NonceSize + TagSize)
        {
            throw new CryptographicException("The stored value is too short to be a ciphertext.");
        }

        var length = sealedBox.Length - NonceSize - TagSize;
        var plaintext = new byte[length];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(sealedBox.AsSpan(0, NonceSize), sealedBox.AsSpan(NonceSize, length), sealedBox.AsSpan(NonceSize + length), plaintext, Encoding.UTF8.GetBytes(boundTo));
        return plaintext;
    }
}
