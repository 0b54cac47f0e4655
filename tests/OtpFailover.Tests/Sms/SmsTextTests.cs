using OtpFailover.Channels;
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

    public static TheoryData<string> EveryLanguage => [.. SmsText.Languages];

    [Theory]
    [MemberData(nameof(EveryLanguage))]
    public void EveryLanguage_StaysOneSegment_AtTheLongestBrandCodeAndLifetime_WithOrWithoutWebOtp(string locale)
    {
        var code = "0123456789";
        foreach (var brand in new[] { new string('B', 30), "Contoso & Fabrikam Co. - Te'st" })
        {
            var plain = SmsText.Compose(code, brand, TimeSpan.FromHours(1), null, locale);
            var withWebOtp = SmsText.Compose(code, brand, TimeSpan.FromHours(1), new string('d', 46) + ".com", locale);

            foreach (var text in new[] { plain, withWebOtp })
            {
                Assert.True(SmsText.FitsOneSegment(text), $"{locale}: {text.Length} characters, {(SmsText.IsGsm7(text) ? "GSM-7" : "UCS-2")}: {text}");
                Assert.Contains(code, text, StringComparison.Ordinal);
                Assert.Contains(brand, text, StringComparison.Ordinal);
                Assert.Contains("60", text, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [InlineData("en", "482913 is your Contoso verification code. It expires in 10 minutes.")]
    [InlineData("es", "482913 es tu codigo de verificacion de Contoso. Caduca en 10 minutos.")]
    [InlineData("pt-BR", "482913 é o seu codigo de verificacao Contoso. Expira em 10 minutos.")]
    [InlineData("hi", "482913 आपका Contoso कोड, 10 मिनट तक मान्य।")]
    [InlineData("id", "482913 adalah kode verifikasi Contoso Anda. Berlaku 10 menit.")]
    [InlineData("de", "482913 ist Ihr Bestätigungscode für Contoso. Er läuft in 10 Minuten ab.")]
    [InlineData("fr", "482913 est votre code de vérification Contoso. Il expire dans 10 minutes.")]
    [InlineData("de-AT", "482913 ist Ihr Bestätigungscode für Contoso. Er läuft in 10 Minuten ab.")]
    [InlineData("pt-PT", "482913 é o seu codigo de verificacao Contoso. Expira em 10 minutos.")]
    [InlineData("ja-JP", "482913 is your Contoso verification code. It expires in 10 minutes.")]
    public void EachLanguage_HasItsText_AndOthersFallBackToTheirLanguageThenEnglish(string locale, string expected) =>
        Assert.Equal(expected, SmsText.Compose("482913", "Contoso", TimeSpan.FromMinutes(10), null, locale));

    [Fact]
    public void OneMinute_IsSingular_WhereTheLanguageSaysSo()
    {
        Assert.EndsWith("1 minuto.", SmsText.Compose("482913", "Contoso", TimeSpan.FromSeconds(30), null, "es"), StringComparison.Ordinal);
        Assert.EndsWith("in 1 Minute ab.", SmsText.Compose("482913", "Contoso", TimeSpan.FromSeconds(30), null, "de"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("en", "en")]
    [InlineData("PT-br", "pt-BR")]
    [InlineData("zh-hant-tw", "zh-Hant-TW")]
    [InlineData("es-419", "es-419")]
    [InlineData("fil", "fil")]
    [InlineData("en_US", "en-US")]
    [InlineData("pt_BR", "pt-BR")]
    [InlineData("en-US-u-mu-celsius", "en-US")]
    [InlineData("ca-ES-valencia", "ca-ES")]
    [InlineData("de-DE-1996", "de-DE")]
    public void Locales_AreNormalised(string value, string normalised)
    {
        Assert.True(OtpFailover.Channels.Locales.TryNormalize(value, out var locale));
        Assert.Equal(normalised, locale);
    }

    [Theory]
    [InlineData("")]
    [InlineData("english")]
    [InlineData("en-")]
    [InlineData("e")]
    [InlineData("en--US")]
    [InlineData("en-US\n")]
    [InlineData("en-US-toolongsubtag")]
    [InlineData("en US")]
    public void NotALanguageTag_IsRefused(string value) =>
        Assert.False(OtpFailover.Channels.Locales.TryNormalize(value, out _));
}
