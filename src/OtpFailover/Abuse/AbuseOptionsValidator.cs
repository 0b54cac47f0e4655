using Microsoft.Extensions.Options;
using OtpFailover.Configuration;
using OtpFailover.PhoneNumbers;

namespace OtpFailover.Abuse;

/// <summary>Checks the <c>Abuse</c> section: region codes, number kinds and limits, each named in its message.</summary>
public sealed class AbuseOptionsValidator : IValidateOptions<AbuseOptions>
{
    public const int MaxRuleLimit = 200;
    public static readonly TimeSpan MinWindow = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(7);

    public ValidateOptionsResult Validate(string? name, AbuseOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var section = AbuseOptions.SectionName;

        ValidateRegions(failures, $"{section}:{nameof(AbuseOptions.AllowedCountries)}", options.AllowedCountries);
        ValidateRegions(failures, $"{section}:{nameof(AbuseOptions.BlockedCountries)}", options.BlockedCountries);
        foreach (var both in options.AllowedCountrySet.Intersect(options.BlockedCountrySet))
        {
            failures.Add($"{section}:{nameof(AbuseOptions.AllowedCountries)} and {section}:{nameof(AbuseOptions.BlockedCountries)} both name {both}.");
        }

        var types = $"{section}:{nameof(AbuseOptions.AllowedNumberTypes)}";
        foreach (var kindName in options.AllowedNumberTypeNames)
        {
            if (!Enum.TryParse<PhoneNumberKind>(kindName, ignoreCase: true, out var kind) || int.TryParse(kindName, out _))
            {
                failures.Add($"{types}: '{kindName}' is not a kind of number; use {string.Join(", ", Enum.GetNames<PhoneNumberKind>().Where(n => !AbuseOptions.AlwaysRefusedKinds.Contains(Enum.Parse<PhoneNumberKind>(n))))}.");
            }
            else if (AbuseOptions.AlwaysRefusedKinds.Contains(kind))
            {
                failures.Add($"{types}: {kind} numbers are always refused (premium-rate, shared-cost, UAN, pager and voicemail numbers cost the sender or reach no person).");
            }
        }

        foreach (var (ruleName, rule) in options.Rules())
        {
            var key = $"{section}:{ruleName}";
            if (rule is null)
            {
                failures.Add($"{key} is required.");
                continue;
            }

            if (rule.Limit is < 0 or > MaxRuleLimit)
            {
                failures.Add($"{key}:{nameof(RateLimitRule.Limit)} must be between 0 (off) and {MaxRuleLimit}.");
            }

            if (rule.IsOn && (rule.Window < MinWindow || rule.Window > MaxWindow))
            {
                failures.Add($"{key}:{nameof(RateLimitRule.Window)} must be between {MinWindow} and {MaxWindow}.");
            }
        }

        if (options.SmsPerCountryPerHour < 1)
        {
            failures.Add($"{section}:{nameof(AbuseOptions.SmsPerCountryPerHour)} must be 1 or more (to send no SMS to a country, set its override to 0).");
        }

        foreach (var (region, cap) in options.SmsPerCountryPerHourByCountry)
        {
            var key = $"{section}:{nameof(AbuseOptions.SmsPerCountryPerHourByCountry)}:{region}";
            if (!IsRegion(region))
            {
                failures.Add($"{key}: '{region}' is not an ISO 3166-1 alpha-2 region code{Hint(region)}.");
            }

            if (cap < 0)
            {
                failures.Add($"{key} must be 0 (no SMS to that country) or more.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateRegions(List<string> failures, string key, string? list)
    {
        foreach (var region in SettingList.Split(list))
        {
            if (!IsRegion(region))
            {
                failures.Add($"{key}: '{region}' is not an ISO 3166-1 alpha-2 region code (or 001 for non-geographic numbers){Hint(region)}.");
            }
        }
    }

    /// <summary>An ISO 3166-1 alpha-2 region libphonenumber knows, or <c>001</c> for the non-geographic numbers.</summary>
    private static bool IsRegion(string region) =>
        region == PhoneNumber.NonGeographicRegion || (region.Length == 2 && PhoneNumber.IsKnownRegion(region.ToUpperInvariant()));

    private static string Hint(string region) => region.Equals("UK", StringComparison.OrdinalIgnoreCase) ? " (the United Kingdom is GB)" : string.Empty;
}
