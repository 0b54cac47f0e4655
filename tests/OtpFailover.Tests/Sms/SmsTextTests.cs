using OtpFailover.Sms;

namespace OtpFailover.Tests.Sms;

public sealed class SmsTextTests
{
    [Fact]
    public void TheDefaultText_NamesTheCodeTheBrandAndTheMinutesLeft()
    {
        Assert.Equal("482913 is your Contoso verification code. It expires in 10 minutes.", SmsText.Compose("482913", "Contoso", TimeSpan.FromMinutes(9.2), null));
        Assert.Equal("482913 is your Contoso verification code. It expires in 1 minute.", SmsText.Compose("482913", "Contoso", TimeSpan.FromSeconds(20), null));
        Assert.Equal("482913 is your Contoso verification code. It expires in 1 minute.", SmsText.Compose("482913", "Contoso", TimeSpan.FromSeconds(-5), null));
    }

    [Fact]
    public void AWebOtpDomain_AddsTheAutofillLineLast()
    {
        var text = SmsText.Compose("482913", "Contoso", TimeSpan.FromMinutes(10), "app.contoso.com");

        Assert.EndsWith("\n\n@app.contoso.com #482913", text);
        Assert.Equal("@app.contoso.com #482913", text.Split('\n')[^1]);
    }

    [Fact]
    public void TheLongestTextTheOptionsAllow_IsOneGsm7Segment()
    {
        var text = SmsText.Compose("0123456789", new string('B', 30), TimeSpan.FromHours(1), new string('d', 46) + ".com");

        Assert.True(SmsText.IsGsm7(text));
        Assert.True(text.Length <= SmsText.SingleSegmentLength, $"{text.Length} characters");
    }

    [Fact]
    public void IsGsm7_FindsWhatWouldMakeTheSmsUcs2()
    {
        Assert.True(SmsText.IsGsm7("Ça va? Éè 5$ @ home_"));
        Assert.False(SmsText.IsGsm7("ça coûte"));
        Assert.False(SmsText.IsGsm7("code 🚀"));
        Assert.False(SmsText.IsGsm7("Łódź"));
    }
}
