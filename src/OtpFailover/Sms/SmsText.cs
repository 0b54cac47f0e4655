using System.Globalization;

namespace OtpFailover.Sms;

/// <summary>
/// The SMS text: <c>{code} is your {Brand} verification code. It expires in {N} minutes.</c>, and, when a WebOTP
/// domain is set, a last line <c>@{domain} #{code}</c> that browsers read to fill the code in. With the options'
/// limits it always fits one GSM-7 segment (160 characters).
/// </summary>
public static class SmsText
{
    public const int SingleSegmentLength = 160;

    public static string Compose(string code, string brand, TimeSpan remaining, string? webOtpDomain)
    {
        var minutes = Math.Max(1, (int)Math.Ceiling(remaining.TotalMinutes));
        var text = string.Create(CultureInfo.InvariantCulture, $"{code} is your {brand} verification code. It expires in {minutes} {(minutes == 1 ? "minute" : "minutes")}.");
        return string.IsNullOrEmpty(webOtpDomain) ? text : $"{text}\n\n@{webOtpDomain} #{code}";
    }

    /// <summary>True when every character is in the GSM 03.38 default alphabet (one non-GSM character makes the SMS UCS-2).</summary>
    public static bool IsGsm7(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        const string basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
        return text.All(c => basic.Contains(c, StringComparison.Ordinal));
    }
}
