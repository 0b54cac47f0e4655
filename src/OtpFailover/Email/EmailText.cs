using System.Globalization;
using System.Net;
using OtpFailover.Channels;

namespace OtpFailover.Email;

/// <summary>An email carrying a code: its subject, plain text and HTML.</summary>
public sealed record EmailContent(string Subject, string PlainText, string Html);

/// <summary>
/// The email in the verification's language (the seven the SMS has; any other gets its less specific tag's, then
/// English). The code stands on a line of its own, easy to copy; the brand and the lifetime are said; there is no link,
/// so there is nothing an attacker could make a user follow, and nothing in it works without the code.
/// </summary>
public static class EmailText
{
    /// <summary>Subject, lead, lifetime with {0} the minutes and {1} the unit, and the line for someone who did not ask.</summary>
    private static readonly Dictionary<string, (string Subject, string Lead, string Expires, string Minute, string Minutes, string NotYou)> Texts = new(StringComparer.OrdinalIgnoreCase)
    {
        ["en"] = ("{0} is your {1} verification code", "Your {0} verification code is:", "It expires in {0} {1}.", "minute", "minutes", "If you did not ask for this code, you can ignore this email. Never share the code with anyone."),
        ["es"] = ("{0} es tu código de verificación de {1}", "Tu código de verificación de {0} es:", "Caduca en {0} {1}.", "minuto", "minutos", "Si no has pedido este código, ignora este correo. No compartas el código con nadie."),
        ["pt-BR"] = ("{0} é o seu código de verificação {1}", "Seu código de verificação {0} é:", "Ele expira em {0} {1}.", "minuto", "minutos", "Se você não pediu este código, ignore este e-mail. Nunca compartilhe o código com ninguém."),
        ["pt"] = ("{0} é o seu código de verificação {1}", "O seu código de verificação {0} é:", "Expira em {0} {1}.", "minuto", "minutos", "Se não pediu este código, ignore este e-mail. Nunca partilhe o código com ninguém."),
        ["hi"] = ("{0} आपका {1} सत्यापन कोड है", "आपका {0} सत्यापन कोड है:", "यह {0} {1} में समाप्त हो जाएगा।", "मिनट", "मिनट", "अगर आपने यह कोड नहीं माँगा, तो इस ईमेल को अनदेखा करें। कोड किसी के साथ साझा न करें।"),
        ["id"] = ("{0} adalah kode verifikasi {1} Anda", "Kode verifikasi {0} Anda:", "Kode ini berlaku {0} {1}.", "menit", "menit", "Jika Anda tidak meminta kode ini, abaikan email ini. Jangan bagikan kode kepada siapa pun."),
        ["de"] = ("{0} ist Ihr Bestätigungscode für {1}", "Ihr Bestätigungscode für {0} lautet:", "Er läuft in {0} {1} ab.", "Minute", "Minuten", "Wenn Sie diesen Code nicht angefordert haben, ignorieren Sie diese E-Mail. Geben Sie den Code niemandem weiter."),
        ["fr"] = ("{0} est votre code de vérification {1}", "Votre code de vérification {0} est :", "Il expire dans {0} {1}.", "minute", "minutes", "Si vous n'avez pas demandé ce code, ignorez cet e-mail. Ne communiquez jamais ce code."),
    };

    public static EmailContent Compose(string code, string brand, TimeSpan remaining, string? locale)
    {
        ArgumentNullException.ThrowIfNull(code);
        ArgumentNullException.ThrowIfNull(brand);
        var language = LanguageFor(locale);
        var (subject, lead, expires, minute, plural, notYou) = Texts[language];
        var minutes = Math.Max(1, (int)Math.Ceiling(remaining.TotalMinutes));
        var leadLine = Format(lead, brand);
        var expiresLine = Format(expires, minutes, minutes == 1 ? minute : plural);
        var plain = $"{leadLine}\n\n{code}\n\n{expiresLine}\n\n{notYou}\n";
        var html = $"""
            <!DOCTYPE html>
            <html lang="{language}"><head><meta charset="utf-8"><title>{WebUtility.HtmlEncode(Format(subject, code, brand))}</title></head>
            <body style="font-family:sans-serif;color:#222">
            <p>{WebUtility.HtmlEncode(leadLine)}</p>
            <p style="font-family:monospace;font-size:32px;letter-spacing:6px;font-weight:bold;user-select:all">{WebUtility.HtmlEncode(code)}</p>
            <p>{WebUtility.HtmlEncode(expiresLine)}</p>
            <p style="color:#666;font-size:13px">{WebUtility.HtmlEncode(notYou)}</p>
            </body></html>
            """;
        return new EmailContent(Format(subject, code, brand), plain, html);
    }

    /// <summary>The language whose text a locale gets: itself, a less specific tag, or English.</summary>
    public static string LanguageFor(string? locale) =>
        Locales.Fallbacks(locale ?? Locales.Default).FirstOrDefault(Texts.ContainsKey) ?? Locales.Default;

    private static string Format(string format, params object[] values) => string.Format(CultureInfo.InvariantCulture, format, values);
}
