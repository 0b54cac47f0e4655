using System.Text.RegularExpressions;

namespace OtpFailover.Verifications;

/// <summary>
/// Text a provider wrote (an error title, delivery details) before it goes on a timeline: bounded in length, and with
/// any run that could be a phone number (seven digits or more) masked, since the service never stores whole numbers.
/// </summary>
public static partial class ProviderText
{
    public const int MaxLength = 200;

    public static string? Scrub(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var scrubbed = LongDigitRun().Replace(text.Trim(), "***");
        return scrubbed.Length <= MaxLength ? scrubbed : scrubbed[..MaxLength];
    }

    [GeneratedRegex(@"\+?[0-9][0-9 ().-]{5,}[0-9]", RegexOptions.CultureInvariant)]
    private static partial Regex LongDigitRun();
}
