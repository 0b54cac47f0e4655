using System.Text.RegularExpressions;

namespace OtpFailover.Channels;

/// <summary>
/// The language a verification speaks to its user: a BCP 47 tag of a language, an optional script and an optional
/// region (<c>en</c>, <c>pt-BR</c>, <c>zh-Hant-TW</c>), normalised to its usual casing. What devices send is taken as
/// it comes: <c>_</c> for <c>-</c> (<c>en_US</c>, as iOS and Java write it), and variants, extensions and private-use
/// subtags after the region (<c>en-US-u-mu-celsius</c> from Android's regional preferences) are left out.
/// </summary>
public static partial class Locales
{
    public const string Default = "en";

    public const int MaxLength = 85;

    public static bool TryNormalize(string? value, out string locale)
    {
        locale = string.Empty;
        if (value is null || value.Length > MaxLength || Pattern().Match(value.Replace('_', '-')) is not { Success: true } match)
        {
            return false;
        }

        locale = match.Groups["language"].Value.ToLowerInvariant();
        if (match.Groups["script"].Success)
        {
            var script = match.Groups["script"].Value;
            locale += "-" + char.ToUpperInvariant(script[0]) + script[1..].ToLowerInvariant();
        }

        if (match.Groups["region"].Success)
        {
            locale += "-" + match.Groups["region"].Value.ToUpperInvariant();
        }

        return true;
    }

    /// <summary>The tag's language and region without its script (<c>zh-TW</c> for <c>zh-Hant-TW</c>), or null.</summary>
    public static string? WithoutScript(string locale)
    {
        ArgumentNullException.ThrowIfNull(locale);
        var parts = locale.Split('-');
        return parts.Length == 3 && parts[1].Length == 4 ? $"{parts[0]}-{parts[2]}" : null;
    }

    /// <summary>The tag and the less specific tags it falls back to: <c>zh-Hant-TW</c>, <c>zh-Hant</c>, <c>zh</c>.</summary>
    public static IEnumerable<string> Fallbacks(string locale)
    {
        ArgumentNullException.ThrowIfNull(locale);
        for (var tag = locale; tag.Length > 0; tag = tag.LastIndexOf('-') is var dash and > 0 ? tag[..dash] : string.Empty)
        {
            yield return tag;
        }
    }

    [GeneratedRegex(@"^(?<language>[A-Za-z]{2,3})(-(?<script>[A-Za-z]{4}))?(-(?<region>[A-Za-z]{2}|[0-9]{3}))?(-[A-Za-z0-9]{1,8})*\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
