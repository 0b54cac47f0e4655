using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace OtpFailover.PhoneNumbers;

/// <summary>An E.164 phone number (<c>+</c> then 8 to 15 digits, no leading zero).</summary>
public sealed partial record PhoneNumber
{
    private PhoneNumber(string e164) => E164 = e164;

    public string E164 { get; }

    /// <summary>Digits only, as WhatsApp's <c>to</c> field takes it.</summary>
    public string Digits => E164[1..];

    /// <summary>
    /// The number as logs and API responses show it: country code and the next digits, then stars, then the last
    /// two digits (<c>+14155550123</c> becomes <c>+1415*****23</c>).
    /// </summary>
    public string Masked => Mask(E164);

    public static bool TryParse(string? value, [NotNullWhen(true)] out PhoneNumber? phoneNumber)
    {
        phoneNumber = null;
        if (value is null)
        {
            return false;
        }

        var compact = Separators().Replace(value.Trim(), string.Empty);
        if (!E164Pattern().IsMatch(compact))
        {
            return false;
        }

        phoneNumber = new PhoneNumber(compact);
        return true;
    }

    public static string Mask(string e164)
    {
        ArgumentNullException.ThrowIfNull(e164);
        if (e164.Length < 9)
        {
            return new string('*', e164.Length);
        }

        const int visibleStart = 5, visibleEnd = 2;
        return string.Concat(e164.AsSpan(0, visibleStart), new string('*', e164.Length - visibleStart - visibleEnd), e164.AsSpan(e164.Length - visibleEnd));
    }

    /// <summary>Masked, so that a number formatted into a log line never shows whole.</summary>
    public override string ToString() => Masked;

    [GeneratedRegex(@"^\+[1-9][0-9]{7,14}$", RegexOptions.CultureInvariant)]
    private static partial Regex E164Pattern();

    [GeneratedRegex(@"[\s\-\.\(\)]", RegexOptions.CultureInvariant)]
    private static partial Regex Separators();
}
