using System.Security.Cryptography;
using System.Text;
using OtpFailover.Codes;

namespace OtpFailover.EmailAddresses;

/// <summary>
/// Keeps whole email addresses out of Table rows, as <c>PhoneNumberProtector</c> does numbers: a keyed hash (to count
/// an address's codes) and an AES-GCM ciphertext bound to the verification id (so the activities can send).
/// </summary>
public sealed class EmailAddressProtector(ServerSecret secret)
{
    /// <summary>
    /// A stable, keyed, non-reversible index of the inbox the address reaches (<see cref="EmailAddress.MailboxKey"/>,
    /// lower-case hex): what <c>Abuse:EmailPerAddress</c> counts, so variants of one inbox share its limit.
    /// </summary>
    public string Index(EmailAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return Convert.ToHexStringLower(HMACSHA256.HashData(secret.EmailIndexKey, Encoding.UTF8.GetBytes(address.MailboxKey)));
    }

    public byte[] Encrypt(EmailAddress address, string verificationId)
    {
        ArgumentNullException.ThrowIfNull(address);
        return BoundEncryption.Seal(secret.EmailEncryptionKey, Encoding.UTF8.GetBytes(address.Value), verificationId);
    }

    public EmailAddress Decrypt(byte[] sealedBox, string verificationId)
    {
        var plaintext = BoundEncryption.Open(secret.EmailEncryptionKey, sealedBox, verificationId);
        try
        {
            return EmailAddress.FromStored(Encoding.UTF8.GetString(plaintext));
        }
        catch (FormatException ex)
        {
            throw new CryptographicException("The stored email address did not decrypt to an address.", ex);
        }
    }
}
