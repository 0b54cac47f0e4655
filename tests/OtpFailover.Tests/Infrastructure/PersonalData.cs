using System.Text;
using System.Text.RegularExpressions;

namespace OtpFailover.Tests.Infrastructure;

/// <summary>
/// Finds a phone number in stored or emitted text: whole, by its digits, or inside a Base64 (or Base64url) value, the
/// way a WhatsApp message id carries it. JSON escapes (<c>\u002B</c> for <c>+</c>) are undone first.
/// </summary>
public static partial class PersonalData
{
    /// <summary>Where <paramref name="text"/> holds the number's digits: null when nowhere, else a short description.</summary>
    public static string? FindNumber(string text, string e164)
    {
        ArgumentNullException.ThrowIfNull(text);
        var digits = e164.TrimStart('+');
        var plain = JsonEscape().Replace(text, m => ((char)Convert.ToInt32(m.Groups[1].Value, 16)).ToString());
        if (plain.Contains(digits, StringComparison.Ordinal))
        {
            return "in plain text";
        }

        var wanted = Encoding.ASCII.GetBytes(digits);
        foreach (Match run in Base64Run().Matches(plain))
        {
            var value = run.Value.TrimEnd('=').Replace('-', '+').Replace('_', '/');
            // The value may start anywhere inside the encoded bytes: try each of the four alignments.
            for (var skip = 0; skip < 4 && value.Length - skip >= 4; skip++)
            {
                var aligned = value[skip..];
                aligned = aligned[..(aligned.Length / 4 * 4)];
                if (Convert.TryFromBase64String(aligned, new byte[aligned.Length], out var written)
                    && Convert.FromBase64String(aligned).AsSpan(0, written).IndexOf(wanted) >= 0)
                {
                    return $"inside the Base64 value {run.Value[..Math.Min(12, run.Value.Length)]}…";
                }
            }
        }

        return null;
    }

    [GeneratedRegex(@"\\u([0-9A-Fa-f]{4})")]
    private static partial Regex JsonEscape();

    [GeneratedRegex(@"[A-Za-z0-9+/_-]{12,}={0,2}")]
    private static partial Regex Base64Run();
}
