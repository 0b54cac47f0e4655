using System.Text.RegularExpressions;

namespace OtpFailover.Verifications;

/// <summary>Verification ids: 32 lower-case hex digits. Anything else is refused before it reaches a table key.</summary>
public static partial class VerificationIds
{
    public static string New() => Guid.NewGuid().ToString("N");

    public static bool IsWellFormed(string? id) => id is not null && Pattern().IsMatch(id);

    [GeneratedRegex(@"^[0-9a-f]{32}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
