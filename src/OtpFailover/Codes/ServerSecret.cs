using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using OtpFailover.Verifications;

namespace OtpFailover.Codes;

/// <summary>
/// Derives independent purpose keys from <see cref="VerificationOptions.CodeKey"/> with HKDF, so the code, the phone
/// number index and the phone number encryption never share a key.
/// </summary>
public sealed class ServerSecret
{
    public ServerSecret(IOptions<VerificationOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var master = Convert.FromBase64String(options.Value.CodeKey);
        CodeKey = Derive(master, "otp-failover/code/v1");
        PhoneIndexKey = Derive(master, "otp-failover/phone-index/v1");
        PhoneEncryptionKey = Derive(master, "otp-failover/phone-encryption/v1");
        ClientIndexKey = Derive(master, "otp-failover/client-index/v1");
        IdempotencyKeyIndexKey = Derive(master, "otp-failover/idempotency-key-index/v1");
        ProviderMessageIndexKey = Derive(master, "otp-failover/provider-message-index/v1");
        CryptographicOperations.ZeroMemory(master);
    }

    internal byte[] CodeKey { get; }

    internal byte[] PhoneIndexKey { get; }

    internal byte[] PhoneEncryptionKey { get; }

    internal byte[] ClientIndexKey { get; }

    internal byte[] IdempotencyKeyIndexKey { get; }

    internal byte[] ProviderMessageIndexKey { get; }

    private static byte[] Derive(byte[] master, string purpose) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, master, 32, salt: null, info: Encoding.ASCII.GetBytes(purpose));
}
