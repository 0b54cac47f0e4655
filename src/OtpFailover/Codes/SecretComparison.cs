using System.Security.Cryptography;
using System.Text;

namespace OtpFailover.Codes;

public static class SecretComparison
{
    /// <summary>
    /// Compares a presented secret with the configured one in constant time. An unconfigured (empty) secret matches
    /// nothing, so a missing setting refuses every caller instead of admitting them.
    /// </summary>
    public static bool Matches(string? presented, string? configured) =>
        !string.IsNullOrEmpty(configured) && presented is not null &&
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(configured));
}
