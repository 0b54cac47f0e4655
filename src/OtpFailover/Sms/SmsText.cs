using System.Globalization;
using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.Sms;

/// <summary>
/// The SMS text in the verification's language: <c>{code} is your {Brand} verification code. It expires in {N}
/// minutes.</c> in English, and the same in Spanish, Portuguese (Brazil), Hindi, Indonesian, German and French; any
/// other language gets the text of its less specific tag (<c>pt</c> for <c>pt-PT</c>... then English). When a WebOTP
/// domain is set, a last line <c>@{domain} #{code}</c> lets browsers fill the code in. Every text stays in one SMS
/// segment at the longest brand, code and lifetime the options allow: 160 GSM-7 characters, or 70 UCS-2 characters for
/// a language GSM-7 cannot write (Hindi). The Latin texts leave out the accents GSM-7 lacks (<c>codigo</c>), as SMS in
/// those languages usually do, because a single one would make the whole SMS UCS-2 and cut it to 70 characters.
/// The WebOTP line is left out where it would not fit.
/// </summary>
public static class SmsText
{
    public const int SingleSegmentLength = 160;
    public const int SingleUcs2SegmentLength = 70;

    /// <summary>The texts, by language: the body with {0} the code, {1} the brand, {2} the minutes, {3} the unit.</summary>
    private static readonly Dictionary<string, (string Body, string Minute, string Minutes)> Texts = new(StringComparer.OrdinalIgnoreCase)
    {
        ["en"] = ("{0} is your {1} verification code. It expires in {2} {3}.", "minute", "minutes"),
        ["es"] = ("{0} es tu codigo de verificacion de {1}. Caduca en {2} {3}.", "minuto", "minutos"),
        ["pt-BR"] = ("{0} é o seu codigo de verificacao {1}. Expira em {2} {3}.", "minuto", "minutos"),
        ["pt"] = ("{0} é o seu codigo de verificacao {1}. Expira em {2} {3}.", "minuto", "minutos"),
        ["hi"] = ("{0} आपका {1} कोड, {2} {3} तक मान्य।", "मिनट", "मिनट"),
        ["id"] = ("{0} adalah kode verifikasi {1} Anda. Berlaku {2} {3}.", "menit", "menit"),
        ["de"] = ("{0} ist Ihr Bestätigungscode für {1}. Er läuft in {2} {3} ab.", "Minute", "Minuten"),
        ["fr"] = ("{0} est votre code de vérification {1}. Il expire dans {2} {3}.", "minute", "minutes"),
    };

    /// <summary>The languages with a text of their own.</summary>
    public static IReadOnlyList<string> Languages { get; } = ["en", "es", "pt-BR", "hi", "id", "de", "fr"];

    public static string Compose(string code, string brand, TimeSpan remaining, string? webOtpDomain, string? locale = null)
    {
        var minutes = Math.Max(1, (int)Math.Ceiling(remaining.TotalMinutes));
        var (body, minute, plural) = TextFor(locale);
        var text = string.Format(CultureInfo.InvariantCulture, body, code, brand, minutes, minutes == 1 ? minute : plural);
        if (string.IsNullOrEmpty(webOtpDomain))
        {
            return text;
        }

        var withAutofill = $"{text}\n\n@{webOtpDomain} #{code}";
        return FitsOneSegment(withAutofill) ? withAutofill : text;
    }

    /// <summary>The language whose text a locale gets: itself, a less specific tag, or English.</summary>
    public static string LanguageFor(string? locale)
    {
        foreach (var tag in Locales.Fallbacks(locale ?? Locales.Default))
        {
            if (Texts.ContainsKey(tag))
            {
                return tag;
            }
        }

        return Locales.Default;
    }

    private static (string Body, string Minute, string Minutes) TextFor(string? locale) => Texts[LanguageFor(locale)];

    /// <summary>One segment: 160 characters of the GSM 03.38 default alphabet, or 70 UCS-2 characters.</summary>
    public static bool FitsOneSegment(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length <= (IsGsm7(text) ? SingleSegmentLength : SingleUcs2SegmentLength);
    }

    /// <summary>True when every character is in the GSM 03.38 default alphabet (one non-GSM character makes the SMS UCS-2).</summary>
    public static bool IsGsm7(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        const string basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
        return text.All(c => basic.Contains(c, StringComparison.Ordinal));
    }
}
