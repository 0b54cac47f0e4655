using System.Diagnostics.CodeAnalysis;
using LibPhoneNumber = global::PhoneNumbers;

namespace OtpFailover.PhoneNumbers;

/// <summary>What kind of line a number is, as libphonenumber's metadata says (its <c>PhoneNumberType</c>).</summary>
public enum PhoneNumberKind
{
    Unknown,
    FixedLine,
    Mobile,

    /// <summary>Where the numbering plan cannot tell the two apart (most of NANP, +1).</summary>
    FixedLineOrMobile,
    TollFree,
    PremiumRate,
    SharedCost,
    Voip,
    PersonalNumber,
    Pager,

    /// <summary>Universal access number (a company's single number).</summary>
    Uan,
    Voicemail,
}

/// <summary>Why an input is not a phone number a code can go to.</summary>
public enum PhoneNumberProblem
{
    /// <summary>Missing, too long, without <c>+</c> and a country code, or not a number at all.</summary>
    Format,

    /// <summary>Carries an extension: no SMS or WhatsApp message can reach one.</summary>
    Extension,

    /// <summary>Parsed, but not a number its country's numbering plan assigns (wrong length, unused range).</summary>
    Invalid,
}

/// <summary>
/// A phone number, normalised to E.164 by libphonenumber before anything is hashed, locked or counted, so
/// <c>+44 (0)20 7946 0958</c> and <c>+442079460958</c> are one number. It knows its region and its kind.
/// </summary>
public sealed record PhoneNumber
{
    /// <summary>More than any real international number with separators; a longer input is refused unparsed.</summary>
    public const int MaxInputLength = 64;

    private static readonly LibPhoneNumber.PhoneNumberUtil Util = LibPhoneNumber.PhoneNumberUtil.GetInstance();

    private PhoneNumber(string e164, string regionCode, PhoneNumberKind kind)
    {
        E164 = e164;
        RegionCode = regionCode;
        Kind = kind;
    }

    public string E164 { get; }

    /// <summary>
    /// The region code libphonenumber gives non-geographic numbers: global services, satellite networks and
    /// international numbering (+800, +870, +881, +882, +883…).
    /// </summary>
    public const string NonGeographicRegion = "001";

    /// <summary>ISO 3166-1 alpha-2 region (<c>US</c>, <c>GB</c>), or <see cref="NonGeographicRegion"/>.</summary>
    public string RegionCode { get; }

    public PhoneNumberKind Kind { get; }

    /// <summary>Digits only, as WhatsApp's <c>to</c> field takes it.</summary>
    public string Digits => E164[1..];

    /// <summary>
    /// The number as logs and API responses show it: country code and the next digits, then stars, then the last
    /// two digits (<c>+14155550123</c> becomes <c>+1415*****23</c>). At least half of the national number and at
    /// least four digits are hidden; a short national number is hidden whole (<c>+290****</c>).
    /// </summary>
    public string Masked => Mask(E164);

    public static bool TryParse(string? value, [NotNullWhen(true)] out PhoneNumber? phoneNumber) =>
        TryParse(value, out phoneNumber, out _);

    /// <summary>
    /// Parses an international number (<c>+</c>, the country code, the number; separators and a national <c>(0)</c>
    /// are fine) and accepts it only when it is a valid number of its country without an extension.
    /// </summary>
    public static bool TryParse(string? value, [NotNullWhen(true)] out PhoneNumber? phoneNumber, out PhoneNumberProblem problem)
    {
        phoneNumber = null;
        problem = PhoneNumberProblem.Format;
        if (string.IsNullOrWhiteSpace(value) || value.Length > MaxInputLength || !value.TrimStart().StartsWith('+'))
        {
            return false;
        }

        LibPhoneNumber.PhoneNumber parsed;
        try
        {
            parsed = Util.Parse(value, null);
        }
        catch (LibPhoneNumber.NumberParseException)
        {
            return false;
        }

        if (parsed.HasExtension)
        {
            problem = PhoneNumberProblem.Extension;
            return false;
        }

        // libphonenumber reads letters as keypad digits (1-800-FLOWERS); a mistyped O for 0 must not become a 6.
        if (!value.All(c => char.IsAsciiDigit(c) || char.IsWhiteSpace(c) || c is '+' or '(' or ')' or '.' or '-' or '/'))
        {
            return false;
        }

        if (!Util.IsValidNumber(parsed))
        {
            problem = PhoneNumberProblem.Invalid;
            return false;
        }

        phoneNumber = From(parsed);
        return true;
    }

    /// <summary>
    /// A number this service stored itself (E.164, checked when it was accepted). It is not validated again, so a
    /// change in the numbering plan metadata cannot stop a verification in flight from sending.
    /// </summary>
    public static PhoneNumber FromStoredE164(string e164)
    {
        ArgumentNullException.ThrowIfNull(e164);
        try
        {
            return From(Util.Parse(e164, null));
        }
        catch (LibPhoneNumber.NumberParseException ex)
        {
            throw new FormatException("The stored phone number is not an E.164 number.", ex);
        }
    }

    public static string Mask(string e164)
    {
        ArgumentNullException.ThrowIfNull(e164);
        int countryCodeLength;
        try
        {
            countryCodeLength = Util.Parse(e164, null).CountryCode.ToString(System.Globalization.CultureInfo.InvariantCulture).Length;
        }
        catch (LibPhoneNumber.NumberParseException)
        {
            return new string('*', e164.Length);
        }

        return Hide(e164, countryCodeLength);
    }

    /// <summary>
    /// A mask stored under an earlier rule, hidden again to today's (<c>+2905**34</c>, from before at least half of
    /// the national number was hidden, becomes <c>+290****4</c>): what either rule hides stays hidden. The country
    /// code is read off the visible start (calling codes are prefix-free).
    /// </summary>
    public static string Remask(string stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (!stored.StartsWith('+') || !stored.Contains('*', StringComparison.Ordinal))
        {
            return stored.StartsWith('+') && stored.Skip(1).All(char.IsAsciiDigit) ? Mask(stored) : new string('*', stored.Length);
        }

        for (var length = 1; length <= 3 && length < stored.Length; length++)
        {
            var prefix = stored.Substring(1, length);
            if (!prefix.All(char.IsAsciiDigit))
            {
                break;
            }

            // A calling code in use names a region, or 001 for the non-geographic ones; ZZ: not a calling code.
            if (Util.GetRegionCodeForCountryCode(int.Parse(prefix, System.Globalization.CultureInfo.InvariantCulture)) != "ZZ")
            {
                var again = Hide(stored, length).ToCharArray();
                for (var i = 0; i < again.Length; i++)
                {
                    again[i] = stored[i] == '*' ? '*' : again[i];
                }

                return new string(again);
            }
        }

        return new string('*', stored.Length);
    }

    /// <summary>
    /// Hides the national number after a country code of <paramref name="countryCodeLength"/> digits: at least half
    /// of it, and at least four digits (all of a short one). What stays visible is split between its start and its
    /// last two digits.
    /// </summary>
    private static string Hide(string number, int countryCodeLength)
    {
        var national = number.Length - 1 - countryCodeLength;
        if (national <= 0)
        {
            return new string('*', number.Length);
        }

        var hidden = Math.Min(national, Math.Max((national + 1) / 2, 4));
        var visibleEnd = Math.Min(2, national - hidden);
        var visibleStart = 1 + countryCodeLength + (national - hidden - visibleEnd);
        return string.Concat(number.AsSpan(0, visibleStart), new string('*', hidden), number.AsSpan(number.Length - visibleEnd));
    }

    /// <summary>Masked, so that a number formatted into a log line never shows whole.</summary>
    public override string ToString() => Masked;

    private static PhoneNumber From(LibPhoneNumber.PhoneNumber parsed) => new(
        Util.Format(parsed, LibPhoneNumber.PhoneNumberFormat.E164),
        Util.GetRegionCodeForNumber(parsed) ?? "ZZ",
        KindOf(Util.GetNumberType(parsed)));

    private static PhoneNumberKind KindOf(LibPhoneNumber.PhoneNumberType type) => type switch
    {
        LibPhoneNumber.PhoneNumberType.FIXED_LINE => PhoneNumberKind.FixedLine,
        LibPhoneNumber.PhoneNumberType.MOBILE => PhoneNumberKind.Mobile,
        LibPhoneNumber.PhoneNumberType.FIXED_LINE_OR_MOBILE => PhoneNumberKind.FixedLineOrMobile,
        LibPhoneNumber.PhoneNumberType.TOLL_FREE => PhoneNumberKind.TollFree,
        LibPhoneNumber.PhoneNumberType.PREMIUM_RATE => PhoneNumberKind.PremiumRate,
        LibPhoneNumber.PhoneNumberType.SHARED_COST => PhoneNumberKind.SharedCost,
        LibPhoneNumber.PhoneNumberType.VOIP => PhoneNumberKind.Voip,
        LibPhoneNumber.PhoneNumberType.PERSONAL_NUMBER => PhoneNumberKind.PersonalNumber,
        LibPhoneNumber.PhoneNumberType.PAGER => PhoneNumberKind.Pager,
        LibPhoneNumber.PhoneNumberType.UAN => PhoneNumberKind.Uan,
        LibPhoneNumber.PhoneNumberType.VOICEMAIL => PhoneNumberKind.Voicemail,
        _ => PhoneNumberKind.Unknown,
    };

    /// <summary>Every region libphonenumber knows (ISO 3166-1 alpha-2), to validate country settings against.</summary>
    public static bool IsKnownRegion(string regionCode) => Util.GetSupportedRegions().Contains(regionCode);
}
