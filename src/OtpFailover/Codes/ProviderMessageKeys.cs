using System.Security.Cryptography;
using System.Text;

namespace OtpFailover.Codes;

/// <summary>
/// What the service keeps of a provider's message id: a keyed hash, never the id. A WhatsApp message id is the Base64
/// of the recipient's number and a random part, so a stored id would be the number in the clear. The hash still finds
/// the verification a status report names (the message index is keyed by it) and says that a send went through.
/// </summary>
public sealed class ProviderMessageKeys(ServerSecret secret)
{
    /// <summary>The keyed, non-reversible key of a provider's message id (lower-case hex).</summary>
    public string Of(string providerMessageId)
    {
        ArgumentException.ThrowIfNullOrEmpty(providerMessageId);
        return Convert.ToHexStringLower(HMACSHA256.HashData(secret.ProviderMessageIndexKey, Encoding.UTF8.GetBytes(providerMessageId)));
    }

    /// <summary>
    /// Whether a stored value is such a key. Rows written before keys were stored hold the provider's id itself, which
    /// may hold characters a table key cannot (a WhatsApp id's <c>/</c>): their index rows go as orphans instead.
    /// </summary>
    public static bool IsKey([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? stored) =>
        stored is { Length: 64 } && stored.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
}
