using System.Text.Json;
using OtpFailover.Simulator;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;
using static OtpFailover.Tests.Http.HttpTestRequests;

namespace OtpFailover.Tests.Verifications;

/// <summary>
/// A verification speaks its user's language: the WhatsApp template in a language it is approved in, and the SMS text,
/// through the real clients against the stand-ins (which refuse a template language that is not approved).
/// </summary>
public sealed class LocaleTests
{
    private static async Task<(TestApp App, WhatsAppCloudApiStandIn Graph, AcsSmsStandIn Acs)> StartAsync(Action<VerificationOptions>? configure = null)
    {
        var graph = await new WhatsAppCloudApiStandIn(TestSecrets.AccessToken, TestSecrets.PhoneNumberId, TestSecrets.ApiVersion, TestSecrets.TemplateName, TestSecrets.TemplateLanguage, ["es", "pt_BR", "de"]).StartAsync();
        var acs = await Sms.AcsStandIns.StartAsync();
        var app = await TestApp.StartAsync(configure, services: s =>
        {
            WhatsApp.WhatsAppStandIns.UseCloudApi(s, graph.BaseUrl, templateLanguages: "en_US, es, pt_BR, de");
            Sms.AcsStandIns.UseAcs(s, Sms.AcsStandIns.Settings(acs));
        });
        return (app, graph, acs);
    }

    private static async Task<string> StartAsync(TestApp app, string phoneNumber, string? locale)
    {
        var response = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", JsonSerializer.Serialize(new { phoneNumber, locale })), app.Client, default));
        Assert.True(response.Status == 202, response.Body);
        return response.Json.GetProperty("id").GetString()!;
    }

    [Theory]
    [InlineData("pt-BR", "pt_BR", "é o seu codigo de verificacao")]
    [InlineData("es-MX", "es", "es tu codigo de verificacion")]
    [InlineData("hi", "en_US", "आपका")]
    [InlineData("en_US", "en_US", "is your")]
    [InlineData("de-DE-u-mu-celsius", "de", "Bestätigungscode")]
    [InlineData("ja", "en_US", "is your")]
    public async Task TheTemplateLanguage_AndTheSmsText_FollowTheLocale(string locale, string templateLanguage, string smsWords)
    {
        var (app, graph, acs) = await StartAsync();
        await using var _ = app;
        await using var __ = graph;
        await using var ___ = acs;

        var id = await StartAsync(app, "+14155550190", locale);
        await app.WaitForPhaseAsync(id, WorkflowPhases.SmsSent); // WhatsApp stays silent: the SMS follows

        var template = Assert.Single(graph.Received);
        Assert.Equal(templateLanguage, template.Language);
        var sms = Assert.Single(acs.Sent);
        Assert.Contains(smsWords, sms.Message, StringComparison.Ordinal);
        Assert.Contains(template.BodyCode, sms.Message, StringComparison.Ordinal);
        Assert.True(OtpFailover.Sms.SmsText.FitsOneSegment(sms.Message));
    }

    [Fact]
    public async Task WithoutALocale_TheDefaultLocaleSpeaks()
    {
        var (app, graph, acs) = await StartAsync(o => o.DefaultLocale = "de");
        await using var _ = app;
        await using var __ = graph;
        await using var ___ = acs;

        var id = await StartAsync(app, "+14155550191", locale: null);
        await app.WaitForPhaseAsync(id, WorkflowPhases.SmsSent);

        Assert.Equal("de", Assert.Single(graph.Received).Language);
        Assert.Contains("Bestätigungscode", Assert.Single(acs.Sent).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("english")]
    [InlineData("e")]
    [InlineData("pt BR")]
    public async Task ALocaleThatIsNotALanguageTag_Answers400_AndWritesNothing(string locale)
    {
        await using var app = await TestApp.StartAsync();

        var response = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", JsonSerializer.Serialize(new { phoneNumber = "+14155550192", locale })), app.Client, default));

        Assert.Equal(400, response.Status);
        Assert.Equal("urn:otpfailover:problem:invalid-request", response.ProblemType);
        Assert.Contains("locale", response.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await app.RowsAsync());
    }

    [Theory]
    [InlineData("pt-BR", "pt_BR")]
    [InlineData("pt", "pt_BR")]
    [InlineData("pt-PT", "pt_BR")]
    [InlineData("zh-Hant-TW", "zh_TW")]
    [InlineData("zh-Hans", "zh_CN")]
    [InlineData("de-AT", "de")]
    [InlineData("en-GB", "en_US")]
    [InlineData(null, "en_US")]
    public void TheTemplateLanguage_IsTheMostSpecificApprovedOne_ElseTheDefault(string? locale, string expected) =>
        Assert.Equal(expected, new WhatsAppOptions { TemplateLanguage = "en_US", TemplateLanguages = "en_US, pt_BR, de, zh_CN, zh_TW" }.TemplateLanguageFor(locale));

    [Fact]
    public async Task ALanguageTheTemplateIsNotApprovedIn_AfterAll_IsRefused_AndTheDefaultLanguageGoesOut_NotAnSms()
    {
        // Configured as approved in pt_BR, but WhatsApp has it only in en_US.
        await using var graph = await new WhatsAppCloudApiStandIn(TestSecrets.AccessToken, TestSecrets.PhoneNumberId, TestSecrets.ApiVersion, TestSecrets.TemplateName, TestSecrets.TemplateLanguage).StartAsync();
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25), services: s => WhatsApp.WhatsAppStandIns.UseCloudApi(s, graph.BaseUrl, templateLanguages: "en_US, pt_BR"));

        var id = await StartAsync(app, "+14155550193", "pt-BR");
        await app.WaitForPhaseAsync(id, WorkflowPhases.AwaitingWhatsAppDelivery);

        Assert.Equal(2, graph.Calls);
        Assert.Equal("en_US", Assert.Single(graph.Received).Language);
        Assert.Equal(0, app.Sms.Calls);
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Message.Contains("no template in pt_BR", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WhenTheDefaultLanguageIsRefusedToo_TheTemplateIsAskedForTwiceAtMost_AndTheSmsGoesOut()
    {
        // The template's name is wrong: WhatsApp has it in no language at all.
        await using var graph = await new WhatsAppCloudApiStandIn(TestSecrets.AccessToken, TestSecrets.PhoneNumberId, TestSecrets.ApiVersion, "another_template", TestSecrets.TemplateLanguage, ["pt_BR"]).StartAsync();
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25), services: s => WhatsApp.WhatsAppStandIns.UseCloudApi(s, graph.BaseUrl, templateLanguages: "en_US, pt_BR"));

        var id = await StartAsync(app, "+14155550194", "pt-BR");
        var sms = await app.Sms.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20));

        Assert.Equal(id, sms.VerificationId);
        Assert.Equal(2, graph.Calls);
        Assert.Empty(graph.Received);
        Assert.Equal(1, app.Sms.Calls);
        var failover = Assert.Single((await app.GetAsync(id)).Timeline, e => e.Type == TimelineEventTypes.Failover);
        Assert.Equal("whatsapp_132001_template_missing", failover.Detail);
    }
}
