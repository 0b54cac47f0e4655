using Microsoft.AspNetCore.Http;
using OtpFailover.Channels;
using OtpFailover.Functions.Webhooks;
using OtpFailover.Sms;
using OtpFailover.Tests.Http;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;
using static OtpFailover.Tests.Sms.EventGridEvents;

namespace OtpFailover.Tests.Sms;

/// <summary>The Event Grid endpoint for SMS delivery reports: its key, its handshakes, and what reports change.</summary>
public sealed class AcsDeliveryReportTests
{
    private static async Task<(TestApp App, Verification Verification, string MessageId)> StartWithSmsSentAsync(Action<VerificationOptions>? configure = null)
    {
        var app = await TestApp.StartAsync(configure);
        var messageId = $"Outgoing_{Guid.NewGuid():N}";
        app.Sms.Respond = (_, _) => ChannelSendResult.Accepted(messageId);
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();
        var sms = await app.Sms.WaitForMessageAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);
        Assert.Equal(verification.Id, sms.VerificationId);
        return (app, verification, messageId);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("a-wrong-key-of-the-right-length-01")]
    public async Task ACallWithoutTheKey_IsRefused401_BeforeItsBodyIsRead(string? key)
    {
        await using var app = await TestApp.StartAsync();
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentLength = 8 * 1024 * 1024; // larger than any delivery: a read would answer 400
        var body = new ReadCountingStream();
        context.Request.Body = body;
        if (key is not null)
        {
            context.Request.Headers[AcsDeliveryReportHandler.KeyHeader] = key;
        }

        var response = await HttpTestRequests.ExecuteAsync(await new AcsDeliveryReportWebhook(app.SmsDeliveryReports).AcsDeliveryReports(context.Request, app.Client, default));

        Assert.Equal(401, response.Status);
        Assert.Equal("urn:otpfailover:problem:webhook-unauthenticated", response.ProblemType);
        Assert.Equal(0, body.Reads);
    }

    /// <summary>A request body that counts how often it is read (and gives a little each time).</summary>
    private sealed class ReadCountingStream : MemoryStream
    {
        public ReadCountingStream()
            : base(System.Text.Encoding.UTF8.GetBytes("[]"))
        {
        }

        public int Reads { get; private set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            Reads++;
            return base.Read(buffer, offset, count);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Reads++;
            return base.ReadAsync(buffer, cancellationToken);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Reads++;
            return base.ReadAsync(buffer, offset, count, cancellationToken);
        }
    }

    private static Task<WireResponse> Notify(TestApp app, byte[] body, string? key = TestSecrets.SmsWebhookKey) =>
        app.SmsDeliveryReports.NotifyAsync(body, key, app.Client, default).ContinueWith(t => HttpTestRequests.ExecuteAsync(t.Result)).Unwrap();

    [Fact]
    public async Task TheSubscriptionValidation_IsAnsweredWithItsCode()
    {
        await using var app = await TestApp.StartAsync();

        var response = await Notify(app, SubscriptionValidation("512d38b6-c7b8-40c8-89fe-f46f9e9622b6"));

        Assert.Equal(200, response.Status);
        Assert.Equal("512d38b6-c7b8-40c8-89fe-f46f9e9622b6", response.Json.GetProperty("validationResponse").GetString());
    }

    [Fact]
    public async Task ADeliveredReport_IsRecordedOnTheTimeline_AndAReportedTwiceChangesNothing()
    {
        var (app, verification, messageId) = await StartWithSmsSentAsync();
        await using var _ = app;
        var body = EventGridSchema(DeliveryReport(messageId, "Delivered", $"v1:{verification.Id}"));

        var first = await Notify(app, body);
        var again = await Notify(app, body);

        Assert.Equal((200, 1), (first.Status, first.Json.GetProperty("applied").GetInt32()));
        Assert.Equal((200, 1), (again.Status, again.Json.GetProperty("unchanged").GetInt32()));
        var stored = await app.GetAsync(verification.Id);
        Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.SmsDelivered);
        Assert.Equal(VerificationStatus.Pending, stored.Status);
    }

    [Fact]
    public async Task AFailedReport_WithNoChannelThatDelivered_EndsTheVerificationFailed()
    {
        var (app, verification, messageId) = await StartWithSmsSentAsync();
        await using var _ = app;

        var response = await Notify(app, EventGridSchema(DeliveryReport(messageId, "Failed", $"v1:{verification.Id}", details: "Carrier rejected the message.")));

        Assert.Equal(200, response.Status);
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(VerificationStatus.Failed, stored.Status);
        Assert.Equal("Failed: Carrier rejected the message.", Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.SmsFailed).Detail);
        Assert.Equal(VerificationStatus.Failed, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());
    }

    [Fact]
    public async Task AFailedReport_AfterWhatsAppDelivered_IsRecorded_ButTheUserCanStillUseTheCode()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        app.Sms.Respond = (_, _) => ChannelSendResult.Accepted("Outgoing_resent");
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default);
        await app.Verifications.ResendAsync(verification.Id, app.Client, default);
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);

        await Notify(app, EventGridSchema(DeliveryReport("Outgoing_resent", "Failed", $"v1:{verification.Id}")));

        Assert.Equal(VerificationStatus.Pending, (await app.GetAsync(verification.Id)).Status);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("event-grid-key-for-tests-012345678")]
    [InlineData("guess")]
    public async Task WithoutTheRightKey_Answers401_AndChangesNothing(string? key)
    {
        var (app, verification, messageId) = await StartWithSmsSentAsync();
        await using var _ = app;

        var response = await Notify(app, EventGridSchema(DeliveryReport(messageId, "Failed", $"v1:{verification.Id}")), key);

        Assert.Equal(401, response.Status);
        Assert.Equal("application/problem+json", response.MediaType);
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(VerificationStatus.Pending, stored.Status);
        Assert.DoesNotContain(stored.Timeline, e => e.Type == TimelineEventTypes.SmsFailed);
    }

    [Fact]
    public async Task AReportForAnUnknownMessage_Answers200_AndChangesNothing()
    {
        await using var app = await TestApp.StartAsync();

        var response = await Notify(app, EventGridSchema(DeliveryReport("Outgoing_unknown", "Delivered", tag: null)));

        Assert.Equal(200, response.Status);
        Assert.Equal(1, response.Json.GetProperty("unknown").GetInt32());
    }

    [Fact]
    public async Task AReportWithoutATag_IsMatchedByItsMessageId_AndACapitalisedTagIsRead()
    {
        var (app, verification, messageId) = await StartWithSmsSentAsync();
        await using var _ = app;

        var byMessageId = await Notify(app, EventGridSchema(DeliveryReport(messageId, "Delivered", tag: null)));
        Assert.Equal(1, byMessageId.Json.GetProperty("applied").GetInt32());

        var (app2, verification2, messageId2) = await StartWithSmsSentAsync();
        await using var __ = app2;
        var byTag = await Notify(app2, EventGridSchema(DeliveryReport("Outgoing_not_indexed", "Delivered", $"v1:{verification2.Id}", tagProperty: "Tag")));
        Assert.Equal(1, byTag.Json.GetProperty("applied").GetInt32());
        Assert.NotEqual(messageId, messageId2);
        Assert.Contains((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.SmsDelivered);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[{\"id\":\"1\"}]")]
    [InlineData("[null]")] // the Event Grid parser throws NullReferenceException on a null element
    [InlineData("[null, 1e152]")]
    [InlineData("[1]")]
    [InlineData("[[]]")]
    [InlineData("null")]
    [InlineData("1e152")]
    [InlineData("\"text\"")]
    [InlineData("[{\"id\":null,\"eventType\":null,\"subject\":null,\"eventTime\":null,\"data\":null,\"dataVersion\":null}]")]
    [InlineData("[{\"specversion\":\"1.0\",\"id\":null,\"type\":null,\"source\":null}]")]
    public async Task AMalformedBody_Answers400ProblemDetails(string body)
    {
        await using var app = await TestApp.StartAsync();

        var response = await Notify(app, System.Text.Encoding.UTF8.GetBytes(body));

        Assert.Equal(400, response.Status);
        Assert.Equal("application/problem+json", response.MediaType);
        // It came with the right key and Event Grid will not send it again: the operator hears of it.
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Level == Microsoft.Extensions.Logging.LogLevel.Warning && r.Message.Contains("could not be read", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnOversizedBodyWithTheRightKey_Answers400_AndTheOperatorHearsOfIt()
    {
        await using var app = await TestApp.StartAsync();
        var webhook = new AcsDeliveryReportWebhook(app.SmsDeliveryReports);
        var post = new DefaultHttpContext().Request;
        post.Method = "POST";
        post.Headers[AcsDeliveryReportHandler.KeyHeader] = TestSecrets.SmsWebhookKey;
        post.Body = new MemoryStream(new byte[AcsDeliveryReportHandler.MaxBodyBytes + 1]);

        var response = await HttpTestRequests.ExecuteAsync(await webhook.AcsDeliveryReports(post, app.Client, default));

        Assert.Equal(400, response.Status);
        Assert.Equal("application/problem+json", response.MediaType);
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Level == Microsoft.Extensions.Logging.LogLevel.Warning && r.Message.Contains("could not be read", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CloudEvents_AreAcceptedToo_WithTheirOptionsHandshake_ThroughTheFunctions()
    {
        var (app, verification, messageId) = await StartWithSmsSentAsync();
        await using var _ = app;
        var webhook = new AcsDeliveryReportWebhook(app.SmsDeliveryReports);
        var handshake = new DefaultHttpContext().Request;
        handshake.Method = "OPTIONS";
        handshake.Headers["WebHook-Request-Origin"] = "eventgrid.azure.net";
        handshake.Headers[AcsDeliveryReportHandler.KeyHeader] = TestSecrets.SmsWebhookKey;
        var body = CloudEventsSchema(DeliveryReport(messageId, "Delivered", $"v1:{verification.Id}"));
        var post = new DefaultHttpContext().Request;
        post.Method = "POST";
        post.QueryString = new QueryString($"?key={TestSecrets.SmsWebhookKey}");
        post.ContentType = "application/cloudevents-batch+json; charset=utf-8";
        post.Body = new MemoryStream(body);

        var allowed = await HttpTestRequests.ExecuteAsync(webhook.AcsDeliveryReportsHandshake(handshake));
        var delivered = await HttpTestRequests.ExecuteAsync(await webhook.AcsDeliveryReports(post, app.Client, default));

        Assert.Equal(200, allowed.Status);
        Assert.Equal("eventgrid.azure.net", allowed.Headers["WebHook-Allowed-Origin"]);
        Assert.Equal(200, delivered.Status);
        Assert.Equal(1, delivered.Json.GetProperty("applied").GetInt32());
        Assert.Contains((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.SmsDelivered);
    }
}
