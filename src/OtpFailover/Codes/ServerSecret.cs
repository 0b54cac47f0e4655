using System.Security.Cryptography;
using System.Text;

namespace OtpFailover.Codes;

/// <summary>
/// Derives independent purpose keys from the server's master key (<c>Verification:CodeKey</c>, Base64) with HKDF, so the code, the phone
/// number index and the phone number encryption never share a key.
/// </summary>
public sealed class ServerSecret
{
    /// <param name="masterKey">The master key, Base64 (validated at start-up: at least 32 bytes).</param>
    public ServerSecret(string masterKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(masterKey);
        var master = Convert.FromBase64String(masterKey);
        CodeKey = Derive(master, "otp-failover/code/v1");
        PhoneIndexKey = Derive(master, "otp-failover/phone-index/v1");
        PhoneEncryptionKey = Derive(master, "otp-failover/phone-encryption/v1");
        ClientIndexKey = Derive(master, "otp-failover/client-index/v1");
        IdempotencyKeyIndexKey = Derive(master, "otp-failover/idempotency-key-index/v1");
        ProviderMessageIndexKey = Derive(master, "otp-failover/provider-message-index/v1");
        EmailIndexKey = Derive(master, "otp-failover/email-index/v1");
        EmailEncryptionKey = Derive(master, "otp-failover/email-encryption/v1");
        CryptographicOperations.ZeroMemory(master);
    }

    internal byte[] CodeKey { get; }

    internal byte[] PhoneIndexKey { get; }

    internal byte[] PhoneEncryptionKey { get; }

    internal byte[] ClientIndexKey { get; }

    internal byte[] IdempotencyKeyIndexKey { get; }

    internal byte[] ProviderMessageIndexKey { get; }

    internal byte[] EmailIndexKey { get; }

    internal byte[] EmailEncryptionKey { get; }

    private static byte[] Derive(byte[] master, string purpose) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, master, 32, salt: null, info: Encoding.ASCII.GetBytes(purpose));
}
