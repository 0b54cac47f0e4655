using System.Text;
using OtpFailover.AzureCommunication;
using OtpFailover.Sms;

namespace OtpFailover.Tests.Sms;

/// <summary>The signing test vectors of PROTOCOLS.md, computed independently of this project.</summary>
public sealed class AcsSigningTests
{
    private static readonly byte[] Key = Convert.FromBase64String("dGVzdC1hY2Nlc3Mta2V5LTAxMjM0NTY3ODlhYmNkZWY=");
    private const string Date = "Fri, 27 Nov 2026 05:00:00 GMT";

    [Fact]
    public void ASend_SignsToTheVector()
    {
        const string body = """{"from":"+18005550100","smsRecipients":[{"to":"+14255550123","repeatabilityRequestId":"0f8fad5b-d9cb-469f-a165-70867728950e","repeatabilityFirstSent":"Fri, 27 Nov 2026 05:00:00 GMT"}],"message":"Your Contoso code is 123456","smsSendOptions":{"enableDeliveryReport":true,"tag":"verification"}}""";
        var uri = new Uri("https://contoso.communication.azure.com/sms?api-version=2021-03-07");

        var hash = AcsHmacSigning.ContentHash(Encoding.UTF8.GetBytes(body));
        var signature = AcsHmacSigning.Signature(Key, AcsHmacSigning.StringToSign("POST", uri, Date, hash));

        Assert.Equal("J1LdrYkn+jKVoQ4alrfH2sUPp3V+mUPMkU0Bkt/eIFs=", hash);
        Assert.Equal("tFkkV9+qCcKie7RRS59AsJMiP1I/NGccDiySB0x1Cb8=", signature);
    }

    [Fact]
    public void AnEmptyBodyGet_OnANonDefaultPort_SignsToTheVector()
    {
        var uri = new Uri("https://contoso.communication.azure.com:8443/deliveryReports/Outgoing_20261127050000_abc?api-version=2026-01-23");

        var hash = AcsHmacSigning.ContentHash([]);
        var signature = AcsHmacSigning.Signature(Key, AcsHmacSigning.StringToSign("GET", uri, Date, hash));

        Assert.Equal("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", hash);
        Assert.Equal("b3ijkfM75s8LnORHQ8WKLBcbH9cN0IfV7mkNB0wRRbE=", signature);
    }

    [Fact]
    public void TheDate_IsRfc1123()
    {
        Assert.Equal(Date, AcsHmacSigning.FormatDate(new DateTimeOffset(2026, 11, 27, 6, 0, 0, TimeSpan.FromHours(1))));
    }

    [Theory]
    [InlineData("endpoint=https://contoso.communication.azure.com/;accesskey=dGVzdC1hY2Nlc3Mta2V5LTAxMjM0NTY3ODlhYmNkZWY=")]
    [InlineData("AccessKey=dGVzdC1hY2Nlc3Mta2V5LTAxMjM0NTY3ODlhYmNkZWY=;Endpoint=https://contoso.communication.azure.com")]
    [InlineData(" ENDPOINT = https://contoso.communication.azure.com// ; ACCESSKEY = dGVzdC1hY2Nlc3Mta2V5LTAxMjM0NTY3ODlhYmNkZWY= ;")]
    public void ConnectionStrings_ParseCaseInsensitively_WithOneTrailingSlash(string value)
    {
        Assert.True(AcsConnectionString.TryParse(value, out var parsed));
        Assert.Equal("https://contoso.communication.azure.com/", parsed.Endpoint.ToString());
        Assert.Equal(Key, parsed.AccessKey);
        Assert.DoesNotContain("dGVzdC1h", parsed.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("endpoint=https://contoso.communication.azure.com/")]
    [InlineData("accesskey=dGVzdA==")]
    [InlineData("endpoint=not a url;accesskey=dGVzdA==")]
    [InlineData("endpoint=https://contoso.communication.azure.com/;accesskey=not base64!")]
    public void BrokenConnectionStrings_AreRefused(string? value)
    {
        Assert.False(AcsConnectionString.TryParse(value, out _));
    }
}
