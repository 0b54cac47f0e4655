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
    [InlineData("+14155550123", "+14155550123")]
    [InlineData(" +1 (415) 555-0123 ", "+14155550123")]
    [InlineData("+44.7700.900123", "+447700900123")]
    public void TryParse_AcceptsE164WithCommonSeparators(string input, string e164)
    {
        Assert.True(PhoneNumber.TryParse(input, out var number));
        Assert.Equal(e164, number.E164);
        Assert.Equal(e164[1..], number.Digits);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("14155550123")]
    [InlineData("+04155550123")]
    [InlineData("+1415555")]
    [InlineData("+1234567890123456")]
    [InlineData("+1415555O123")]
    public void TryParse_RefusesWhatIsNotE164(string? input)
    {
        Assert.False(PhoneNumber.TryParse(input, out _));
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
    public void Protector_RoundTrips_BindsTheCiphertextToTheVerification_AndIndexesStably()
    {
        var protector = new PhoneNumberProtector(new ServerSecret(Options.Create(new VerificationOptions { CodeKey = Convert.ToBase64String(new byte[32]) })));
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
