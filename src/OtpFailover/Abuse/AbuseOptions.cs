using OtpFailover.Configuration;
using OtpFailover.PhoneNumbers;

namespace OtpFailover.Abuse;

/// <summary>A limit of <see cref="Limit"/> events in any sliding <see cref="Window"/>; a limit of 0 is off.</summary>
public sealed class RateLimitRule
{
    public RateLimitRule()
    {
    }

    public RateLimitRule(int limit, TimeSpan window)
    {
        Limit = limit;
        Window = window;
    }

    public int Limit { get; set; }

    public TimeSpan Window { get; set; }

    public bool IsOn => Limit > 0;
}

/// <summary>
/// The <c>Abuse</c> configuration section: which numbers may receive a code, and the limits that make SMS pumping,
/// guessing and lock-outs expensive. Every limit is counted in Table Storage, so it holds across scaled-out instances.
/// </summary>
public sealed class AbuseOptions
{
    public const string SectionName = "Abuse";

    /// <summary>The kinds no setting can allow: they cost the sender money or reach no person.</summary>
    public static readonly IReadOnlySet<PhoneNumberKind> AlwaysRefusedKinds = new HashSet<PhoneNumberKind>
    {
        PhoneNumberKind.PremiumRate,
        PhoneNumberKind.SharedCost,
        PhoneNumberKind.Uan,
        PhoneNumberKind.Pager,
        PhoneNumberKind.Voicemail,
    };

    /// <summary>
    /// ISO 3166-1 alpha-2 regions that may receive a code, comma-separated; empty allows every region.
    /// Non-geographic numbers (<c>001</c>) are allowed only when listed here.
    /// </summary>
    public string? AllowedCountries { get; set; }

    /// <summary>Regions that may never receive a code, comma-separated.</summary>
    public string? BlockedCountries { get; set; }

    public const string DefaultAllowedNumberTypes = "Mobile, FixedLineOrMobile";

    /// <summary>The kinds of number that may receive a code, comma-separated <see cref="PhoneNumberKind"/> names; empty is the default.</summary>
    public string? AllowedNumberTypes { get; set; } = DefaultAllowedNumberTypes;

    /// <summary>Starts for one number in a short window.</summary>
    public RateLimitRule StartsPerNumber { get; set; } = new(5, TimeSpan.FromMinutes(15));

    /// <summary>Starts for one number in a long window.</summary>
    public RateLimitRule StartsPerNumberDaily { get; set; } = new(20, TimeSpan.FromHours(24));

    /// <summary>SMS sent to one number, by failover or resend.</summary>
    public RateLimitRule SmsPerNumber { get; set; } = new(3, TimeSpan.FromHours(1));

    /// <summary>Wrong codes for one number across all its verifications; at the limit, its checks and starts are refused.</summary>
    public RateLimitRule FailedChecksPerNumber { get; set; } = new(15, TimeSpan.FromHours(24));

    /// <summary>Starts that carry one <c>clientKey</c> (or <c>clientIp</c>).</summary>
    public RateLimitRule StartsPerClient { get; set; } = new(10, TimeSpan.FromHours(1));

    /// <summary>Emails sent to one address, by any verification (the email channel's own limit: a guard against mail bombing).</summary>
    public RateLimitRule EmailPerAddress { get; set; } = new(5, TimeSpan.FromHours(1));

    /// <summary>
    /// Email domains a start may not name (throwaway mailboxes), comma-separated, matched on the domain and its
    /// subdomains; empty refuses none.
    /// </summary>
    public string? DisposableEmailDomains { get; set; }

    /// <summary>SMS per region per clock hour (UTC), for every region without an override.</summary>
    public int SmsPerCountryPerHour { get; set; } = 1000;

    /// <summary>
    /// Per-region overrides of <see cref="SmsPerCountryPerHour"/> (<c>Abuse:SmsPerCountryPerHourByCountry:GB = 200</c>);
    /// 0 sends no SMS to that region at all (WhatsApp only).
    /// </summary>
    public Dictionary<string, int> SmsPerCountryPerHourByCountry { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlySet<string> AllowedCountrySet => Regions(AllowedCountries);

    public IReadOnlySet<string> BlockedCountrySet => Regions(BlockedCountries);

    /// <summary>Whether <paramref name="domain"/> (ASCII, lower case) is one of <see cref="DisposableEmailDomains"/> or below one.</summary>
    public bool IsDisposableEmailDomain(string domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        return SettingList.Split(DisposableEmailDomains)
            .Select(listed => AsciiDomain(listed.Trim('.')))
            .Any(listed => listed.Length > 0 && (domain == listed || domain.EndsWith("." + listed, StringComparison.Ordinal)));
    }

    /// <summary>The allowed kinds' names: an empty setting (App Service and Bicep make them) means the default.</summary>
    public IReadOnlyList<string> AllowedNumberTypeNames =>
        [.. SettingList.Split(string.IsNullOrWhiteSpace(AllowedNumberTypes) ? DefaultAllowedNumberTypes : AllowedNumberTypes)];

    public IReadOnlySet<PhoneNumberKind> AllowedKindSet => AllowedNumberTypeNames
        .Select(name => Enum.TryParse<PhoneNumberKind>(name, ignoreCase: true, out var kind) ? kind : (PhoneNumberKind?)null)
        .OfType<PhoneNumberKind>()
        .Where(kind => !AlwaysRefusedKinds.Contains(kind))
        .ToHashSet();

    /// <summary>The hourly SMS cap for a region; 0 means no SMS there.</summary>
    public int SmsBudgetFor(string regionCode) =>
        SmsPerCountryPerHourByCountry.TryGetValue(regionCode, out var cap) ? cap : SmsPerCountryPerHour;

    /// <summary>The rules, by the name each refusal carries.</summary>
    public IEnumerable<(string Name, RateLimitRule Rule)> Rules() =>
    [
        (nameof(StartsPerNumber), StartsPerNumber),
        (nameof(StartsPerNumberDaily), StartsPerNumberDaily),
        (nameof(SmsPerNumber), SmsPerNumber),
        (nameof(FailedChecksPerNumber), FailedChecksPerNumber),
        (nameof(StartsPerClient), StartsPerClient),
        (nameof(EmailPerAddress), EmailPerAddress),
    ];

    /// <summary>A listed domain as addresses are compared: lower case, an internationalised one in punycode.</summary>
    private static string AsciiDomain(string domain)
    {
        try
        {
            return new System.Globalization.IdnMapping().GetAscii(domain).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return domain.ToLowerInvariant();
        }
    }

    private static HashSet<string> Regions(string? list) =>
        SettingList.Split(list).Select(r => r.ToUpperInvariant()).ToHashSet(StringComparer.Ordinal);
}
