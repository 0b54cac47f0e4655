using OtpFailover.Functions.Webhooks;
using OtpFailover.Simulator;
using OtpFailover.Sms;
using OtpFailover.Tests.Http;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Sms;

/// <summary>
/// WhatsApp stays silent, the timeout fires, the real ACS client sends exactly one signed SMS with the same code to
/// the ACS stand-in, its delivery report comes back through the Functions webhook, and the code approves.
/// </summary>
public sealed class SmsEndToEndTests : IAsyncLifetime
{
    private AcsSmsStandIn _acs = null!;

    public async Task InitializeAsync() => _acs = await AcsStandIns.StartAsync();

    public async Task DisposeAsync() => await _acs.DisposeAsync();

    [Fact]
    public async Task SilentWhatsApp_Timeout_OneSignedSms_DeliveryReport_CheckApproves()
    {
        await using var app = await TestApp.StartAsync(services: s => AcsStandIns.UseAcs(s, AcsStandIns.Settings(_acs)));
        var (verification, whatsAppCode) = await app.StartAndAwaitWhatsAppAsync();

        await Eventually.WaitUntilAsync(() => _acs.Sent.Count == 1, TimeSpan.FromSeconds(20), "the ACS stand-in to send the SMS");
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);
        var sms = _acs.Sent[0];
        Assert.StartsWith($"{whatsAppCode} is your Contoso verification code.", sms.Message);
        Assert.Equal($"v1:{verification.Id}", sms.Tag);
        Assert.Equal(0, _acs.Unauthenticated);

        var report = new Microsoft.AspNetCore.Http.DefaultHttpContext().Request;
        report.Method = "POST";
        report.Headers[AcsDeliveryReportHandler.KeyHeader] = TestSecrets.SmsWebhookKey;
        report.Body = new MemoryStream(EventGridEvents.EventGridSchema(EventGridEvents.DeliveryReport(sms.MessageId, "Delivered", sms.Tag)));
        var delivered = await HttpTestRequests.ExecuteAsync(await new AcsDeliveryReportWebhook(app.SmsDeliveryReports).AcsDeliveryReports(report, app.Client, default));
        Assert.Equal(200, delivered.Status);

        var check = await HttpTestRequests.ExecuteAsync(await app.Api.CheckCode(HttpTestRequests.Json("POST", "/", $$"""{"code":"{{whatsAppCode}}"}"""), verification.Id, app.Client, default));
        Assert.Equal(200, check.Status);
        Assert.Equal(VerificationStatus.Approved, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());
        Assert.Single(_acs.Sent);
        Assert.Equal(
            [TimelineEventTypes.Created, TimelineEventTypes.WhatsAppSent, TimelineEventTypes.Failover, TimelineEventTypes.SmsSent, TimelineEventTypes.SmsDelivered, TimelineEventTypes.Approved],
            (await app.GetAsync(verification.Id)).Timeline.Select(e => e.Type));
    }
}
