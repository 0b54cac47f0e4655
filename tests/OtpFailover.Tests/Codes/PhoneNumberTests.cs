using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using OtpFailover.Codes;
using OtpFailover.PhoneNumbers;
using OtpFailover.Verifications;

namespace OtpFailover.Tests.Codes;

public sealed class PhoneNumberTests
{
    [Theory]
    [InlineData("+14155550123", "+14155550123", "US", PhoneNumberKind.FixedLineOrMobile)]
    [InlineData(" +1 (415) 555-0123 ", "+14155550123", "US", PhoneNumberKind.FixedLineOrMobile)]
    [InlineData("+1.415.555.0123", "+14155550123", "US", PhoneNumberKind.FixedLineOrMobile)]
    [InlineData("+44 (0)20 7946 0958", "+442079460958", "GB", PhoneNumberKind.FixedLine)]
    [InlineData("+442079460958", "+442079460958", "GB", PhoneNumberKind.FixedLine)]
    [InlineData("+49 151 1234 5678", "+4915112345678", "DE", PhoneNumberKind.Mobile)]
    [InlineData("+55 11 98765-4321", "+5511987654321", "BR", PhoneNumberKind.Mobile)]
    [InlineData("+91 98765 43210", "+919876543210", "IN", PhoneNumberKind.Mobile)]
    [InlineData("+1 900 555 1234", "+19005551234", "US", PhoneNumberKind.PremiumRate)]
    [InlineData("+44 871 234 5678", "+448712345678", "GB", PhoneNumberKind.PremiumRate)]
    public void TryParse_NormalisesEverySpellingToE164_AndKnowsTheRegionAndKind(string input, string e164, string region, PhoneNumberKind kind)
    {
        Assert.True(PhoneNumber.TryParse(input, out var number, out _));
        Assert.Equal(e164, number.E164);
        Assert.Equal(e164[1..], number.Digits);
        Assert.Equal(region, number.RegionCode);
        Assert.Equal(kind, number.Kind);
    }

    [Theory]
    [InlineData(null, PhoneNumberProblem.Format)]
    [InlineData("", PhoneNumberProblem.Format)]
    [InlineData("14155550123", PhoneNumberProblem.Format)]
    [InlineData("4155550123", PhoneNumberProblem.Format)]
    [InlineData("+04155550123", PhoneNumberProblem.Format)]
    [InlineData("+0123456789", PhoneNumberProblem.Format)]
    [InlineData("+1415555", PhoneNumberProblem.Invalid)]
    [InlineData("+1415555012345678", PhoneNumberProblem.Invalid)]
    [InlineData("+447700900123", PhoneNumberProblem.Invalid)]
    [InlineData("+1 415 555 0123 ext. 5", PhoneNumberProblem.Extension)]
    [InlineData("+1415555O123", PhoneNumberProblem.Format)]
    [InlineData("+1-800-FLOWERS", PhoneNumberProblem.Format)]
    public void TryParse_RefusesWhatIsNotAValidInternationalNumber_SayingWhy(string? input, PhoneNumberProblem problem)
    {
        Assert.False(PhoneNumber.TryParse(input, out _, out var actual));
        Assert.Equal(problem, actual);
    }

    [Fact]
    public void TryParse_RefusesAnInputLongerThanAnyNumber_WithoutParsingIt()
    {
        Assert.False(PhoneNumber.TryParse("+1 415 555 0123" + new string(' ', PhoneNumber.MaxInputLength), out _, out var problem));
        Assert.Equal(PhoneNumberProblem.Format, problem);
    }

    [Fact]
    public void Masked_ShowsTheCountryAndTheLastTwoDigits_AndToStringNeverShowsMore()
    {
        Assert.True(PhoneNumber.TryParse("+14155550123", out var number));

        Assert.Equal("+1415*****23", number.Masked);
        Assert.Equal("+1415*****23", number.ToString());
        Assert.Equal("+1415*****23", $"{number}");
    }

    [Fact]
    public void Masked_HidesAtLeastHalfOfTheNationalNumber_AndAtLeastFourDigits_InEveryCountry()
    {
        // Every region's example mobile and fixed-line numbers, short numbering plans (Saint Helena, Niue, Tokelau) included.
        var util = global::PhoneNumbers.PhoneNumberUtil.GetInstance();
        var checkedNumbers = 0;
        foreach (var region in util.GetSupportedRegions())
        {
            foreach (var type in new[] { global::PhoneNumbers.PhoneNumberType.MOBILE, global::PhoneNumbers.PhoneNumberType.FIXED_LINE })
            {
                if (util.GetExampleNumberForType(region, type) is not { } example)
                {
                    continue;
                }

                var e164 = util.Format(example, global::PhoneNumbers.PhoneNumberFormat.E164);
                var national = e164.Length - 1 - example.CountryCode.ToString(System.Globalization.CultureInfo.InvariantCulture).Length;
                var masked = PhoneNumber.Mask(e164);
                var hidden = masked.Count(c => c == '*');

                Assert.Equal(e164.Length, masked.Length);
                Assert.True(hidden * 2 >= national && hidden >= Math.Min(4, national), $"{region}: {masked} hides {hidden} of {national} national digits");
                Assert.StartsWith($"+{example.CountryCode}", masked, StringComparison.Ordinal);
                for (var i = 0; i < e164.Length; i++)
                {
                    Assert.True(masked[i] == '*' || masked[i] == e164[i], $"{region}: {masked} is not {e164} with digits hidden");
                }

                checkedNumbers++;
            }
        }

        Assert.True(checkedNumbers > 400, $"only {checkedNumbers} example numbers");
        Assert.Equal("+290****", PhoneNumber.Mask("+2905134"));
    }

    [Theory]
    [InlineData("+2905**34", "+290****4")] // stored by 1.3: two digits hidden of a five-digit national number
    [InlineData("+6782**23", "+678****3")]
    [InlineData("+1415*****23", "+1415*****23")] // already hidden enough: unchanged
    [InlineData("+447911***456", "+44791*****56")]
    [InlineData("+888****", "+888****")]
    [InlineData("garbage", "*******")]
    [InlineData("+14155550123", "+1415*****23")] // a whole number is masked, never shown
    public void AMaskStoredUnderTheOldRule_IsShownUnderTodays(string stored, string shown) =>
        Assert.Equal(shown, PhoneNumber.Remask(stored));

    [Fact]
    public void Protector_RoundTrips_BindsTheCiphertextToTheVerification_AndIndexesStably()
    {
        var protector = new PhoneNumberProtector(new ServerSecret(Convert.ToBase64String(new byte[32])));
        Assert.True(PhoneNumber.TryParse("+14155550123", out var number));

        var sealedOnce = protector.Encrypt(number, "v1");
        var sealedTwice = protector.Encrypt(number, "v1");

        Assert.Equal(number, protector.Decrypt(sealedOnce, "v1"));
        Assert.NotEqual(sealedOnce, sealedTwice);
        Assert.DoesNotContain("4155550123", Encoding.ASCII.GetString(sealedOnce));
        Assert.ThrowsAny<CryptographicException>(() => protector.Decrypt(sealedOnce, "v2"));
        Assert.Equal(protector.Index(number), protector.Index(number));
        Assert.Matches("^[0-9a-f]{64}$", protector.Index(number));
        Assert.True(PhoneNumber.TryParse("+14155550124", out var other));
        Assert.NotEqual(protector.Index(number), protector.Index(other));
    }
}
