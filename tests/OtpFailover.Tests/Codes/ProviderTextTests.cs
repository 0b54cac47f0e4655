using OtpFailover.Verifications;

namespace OtpFailover.Tests.Codes;

public sealed class ProviderTextTests
{
    [Theory]
    [InlineData("131026 Message undeliverable", "131026 Message undeliverable")]
    [InlineData("Failed: Recipient +1 (425) 555-0123 blocked", "Failed: Recipient *** blocked")]
    [InlineData("Number 14255550123 is not on WhatsApp", "Number *** is not on WhatsApp")]
    [InlineData("   ", null)]
    [InlineData(null, null)]
    public void Scrub_KeepsErrorCodes_ButMasksAnythingThatCouldBeAPhoneNumber(string? text, string? expected)
    {
        Assert.Equal(expected, ProviderText.Scrub(text));
    }

    [Fact]
    public void Scrub_BoundsTheLength()
    {
        Assert.Equal(ProviderText.MaxLength, ProviderText.Scrub(new string('x', 1000))!.Length);
    }
}
