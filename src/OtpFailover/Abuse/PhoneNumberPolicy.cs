using Microsoft.Extensions.Options;
using OtpFailover.PhoneNumbers;

namespace OtpFailover.Abuse;

public enum PhoneNumberRefusal
{
    None,

    /// <summary>The kind of number may not receive a code (premium-rate always; others by <see cref="AbuseOptions.AllowedNumberTypes"/>).</summary>
    KindNotAllowed,

    /// <summary>The number's region is blocked, or not among the allowed ones.</summary>
    CountryNotAllowed,
}

/// <summary>Which numbers may receive a code: by kind, then by region. Nothing is written before it says yes.</summary>
public sealed class PhoneNumberPolicy
{
    private readonly IReadOnlySet<PhoneNumberKind> _kinds;
    private readonly IReadOnlySet<string> _allowed;
    private readonly IReadOnlySet<string> _blocked;

    public PhoneNumberPolicy(IOptions<AbuseOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _kinds = options.Value.AllowedKindSet;
        _allowed = options.Value.AllowedCountrySet;
        _blocked = options.Value.BlockedCountrySet;
    }

    public PhoneNumberRefusal Check(PhoneNumber phoneNumber)
    {
        ArgumentNullException.ThrowIfNull(phoneNumber);
        if (AbuseOptions.AlwaysRefusedKinds.Contains(phoneNumber.Kind) || !_kinds.Contains(phoneNumber.Kind))
        {
            return PhoneNumberRefusal.KindNotAllowed;
        }

        if (_blocked.Contains(phoneNumber.RegionCode) || (_allowed.Count > 0 && !_allowed.Contains(phoneNumber.RegionCode)))
        {
            return PhoneNumberRefusal.CountryNotAllowed;
        }

        // Non-geographic numbers (satellite, international networks) are a classic toll-fraud destination and belong
        // to no country an allow-list names by accident: they receive codes only where 001 is allowed explicitly.
        if (phoneNumber.RegionCode == PhoneNumber.NonGeographicRegion && !_allowed.Contains(PhoneNumber.NonGeographicRegion))
        {
            return PhoneNumberRefusal.CountryNotAllowed;
        }

        return PhoneNumberRefusal.None;
    }
}
