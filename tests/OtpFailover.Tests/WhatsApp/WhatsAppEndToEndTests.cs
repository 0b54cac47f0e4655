using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Channels;
using OtpFailover.Codes;
using OtpFailover.Functions.Webhooks;
using OtpFailover.Simulator;
using OtpFailover.Tests.Http;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;
using static OtpFailover.Tests.WhatsApp.WhatsAppNotifications;

namespace OtpFailover.Tests.WhatsApp;

/// <summary>
/// The real WhatsApp client against the Graph API stand-in, and Meta's signed status webhook through the Functions
/// method: start, the template arrives, delivered, no SMS, the code approves.
/// </summary>
public sealed class WhatsAppEndToEndTests : IAsyncLifetime
{
    private WhatsAppCloudApiStandIn _graph = null!;

    public async Task InitializeAsync() => _graph = await WhatsAppStandIns.StartGraphApiAsync();

    public async Task DisposeAsync() => await _graph.DisposeAsync();

    [Fact]
    public async Task Start_TemplateSent_SignedDeliveredWebhook_NoSms_CheckApproves()
    {
        await using var app = await TestApp.StartAsync(services: s => WhatsAppStandIns.UseCloudApi(s, _graph.BaseUrl));
        var started = await HttpTestRequests.ExecuteAsync(await app.Api.StartVerification(HttpTestRequests.Json("POST", "/api/verifications", """{"phoneNumber":"+14155550123"}"""), app.Client, default));
        var id = started.Json.GetProperty("id").GetString()!;

        await Eventually.WaitUntilAsync(() => _graph.Received.Count == 1, TimeSpan.FromSeconds(20), "the Graph API stand-in to receive the template");
        var template = _graph.Received[0];
        Assert.Equal("14155550123", template.To);
        Assert.Equal($"v1:{id}", template.CallbackData);
        await app.WaitForPhaseAsync(id, WorkflowPhases.AwaitingWhatsAppDelivery);

        var body = Build([new Status(template.MessageId, "sent", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), template.CallbackData), new Status(template.MessageId, "delivered", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), template.CallbackData)]);
        var webhook = await HttpTestRequests.ExecuteAsync(await new WhatsAppStatusWebhook(app.WhatsAppWebhook).WhatsAppStatusNotification(SignedRequest(body), app.Client, default));
        Assert.Equal(200, webhook.Status);

        await app.WaitForPhaseAsync(id, WorkflowPhases.WhatsAppConfirmed);
        await Task.Delay(app.Options.WhatsAppDeliveryTimeout + TimeSpan.FromSeconds(1));
        Assert.Equal(0, app.Sms.Calls);

        var check = await HttpTestRequests.ExecuteAsync(await app.Api.CheckCode(HttpTestRequests.Json("POST", "/", $$"""{"code":"{{template.BodyCode}}"}"""), id, app.Client, default));
        Assert.Equal(200, check.Status);
        Assert.Equal(VerificationStatus.Approved, (await app.WaitForCompletionAsync(id)).ReadOutputAs<VerificationStatus>());
        var stored = await app.GetAsync(id);
        // The row keeps the message id's keyed hash, never the id: a wamid carries the recipient's digits.
        Assert.Equal(app.Services.GetRequiredService<ProviderMessageKeys>().Of(template.MessageId), stored.SendOn(Channel.WhatsApp)?.MessageId);
        Assert.Equal([TimelineEventTypes.Created, TimelineEventTypes.WhatsAppSent, TimelineEventTypes.WhatsAppDelivered, TimelineEventTypes.Approved], stored.Timeline.Select(e => e.Type));
    }

    [Fact]
    public async Task AnUndeliverableNumber_GoesToSmsAtOnce_WithTheReasonOnTheTimeline()
    {
        _graph.Answer = (_, _) => StandInAnswer.GraphError(400, WhatsAppErrorCodes.Undeliverable, "Message undeliverable");
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25), services: s => WhatsAppStandIns.UseCloudApi(s, _graph.BaseUrl));
        var started = await app.StartAsync("+14155550123");
        var sms = await app.Sms.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(10));

        Assert.Equal(_graph.Received[0].BodyCode, sms.Code);
        Assert.Equal(1, _graph.Calls);
        var failover = Assert.Single((await app.GetAsync(started.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover);
        Assert.Equal("send_error", failover.Reason);
        Assert.Equal("whatsapp_131026_undeliverable", failover.Detail);
    }

    private static HttpRequest SignedRequest(byte[] body)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentType = "application/json";
        context.Request.ContentLength = body.Length;
        context.Request.Body = new MemoryStream(body);
        context.Request.Headers[WhatsAppSignature.HeaderName] = WhatsAppSignature.Compute(body, TestSecrets.AppSecret);
        return context.Request;
    }
}
