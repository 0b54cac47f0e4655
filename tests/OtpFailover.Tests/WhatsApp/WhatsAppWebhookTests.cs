using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Channels;
using OtpFailover.Tests.Http;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;
using static OtpFailover.Tests.WhatsApp.WhatsAppNotifications;

namespace OtpFailover.Tests.WhatsApp;

/// <summary>Meta's webhook: the handshake, the signature over the raw bytes, and how statuses are applied.</summary>
public sealed class WhatsAppWebhookTests
{
    private static byte[] Fixture() => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "WhatsApp", "Fixtures", "whatsapp-status-delivered.json"));

    private static string Sign(byte[] body, string secret = TestSecrets.AppSecret) => WhatsAppSignature.Compute(body, secret);

    [Fact]
    public void TheFixture_SignsToTheTestVector()
    {
        var body = Fixture();

        Assert.Equal("sha256=461d28982f2f249597376bb7cb9451f44960699efd84863b9aa1f21c6eaa6324", Sign(body));
        Assert.True(WhatsAppSignature.IsValid(body, "sha256=461d28982f2f249597376bb7cb9451f44960699efd84863b9aa1f21c6eaa6324", TestSecrets.AppSecret));
        Assert.True(WhatsAppSignature.IsValid(body, "sha256=461D28982F2F249597376BB7CB9451F44960699EFD84863B9AA1F21C6EAA6324", TestSecrets.AppSecret));
    }

    [Fact]
    public async Task TheFixture_CorrectlySigned_ForNoKnownVerification_Answers200AndChangesNothing()
    {
        await using var app = await TestApp.StartAsync();
        var body = Fixture();

        var response = await HttpTestRequests.ExecuteAsync(await app.WhatsAppWebhook.NotifyAsync(body, Sign(body), app.Client, default));

        Assert.Equal(200, response.Status);
        Assert.Equal(0, response.Json.GetProperty("applied").GetInt32());
        Assert.Equal(1, response.Json.GetProperty("unknown").GetInt32());
    }

    [Theory]
    [InlineData("tampered")]
    [InlineData("wrong-secret")]
    [InlineData("missing")]
    [InlineData("malformed")]
    [InlineData("sha1")]
    public async Task ANotificationWithoutAValidSignature_Answers401_AndChangesNothing(string fault)
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();
        var wamid = app.WhatsApp.Answers[0].ProviderMessageId!;
        var body = Build([new Status(wamid, "delivered", 1750263773, $"v1:{verification.Id}")]);
        var signature = Sign(body);
        switch (fault)
        {
            case "tampered":
                body[body.Length / 2] ^= 0x01;
                break;
            case "wrong-secret":
                signature = Sign(body, "not-the-app-secret");
                break;
            case "missing":
                signature = null!;
                break;
            case "malformed":
                signature = "sha256=zz" + signature[9..];
                break;
            case "sha1":
                signature = "sha1=" + signature[7..47];
                break;
        }

        var response = await HttpTestRequests.ExecuteAsync(await app.WhatsAppWebhook.NotifyAsync(body, signature, app.Client, default));

        Assert.Equal(401, response.Status);
        Assert.Equal("application/problem+json", response.MediaType);
        Assert.Equal("urn:otpfailover:problem:webhook-unauthenticated", response.ProblemType);
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(DeliveryStatus.Sent, stored.SendOn(Channel.WhatsApp)?.Delivery);
        Assert.DoesNotContain(stored.Timeline, e => e.Type == TimelineEventTypes.WhatsAppDelivered);
    }

    [Fact]
    public async Task Handshake_WithTheVerifyToken_EchoesTheChallenge_AndOtherwiseAnswers403()
    {
        await using var app = await TestApp.StartAsync();
        // Through the function itself: Meta's query parameters are read as the host passes them.
        var function = new OtpFailover.Functions.Webhooks.WhatsAppStatusWebhook(app.WhatsAppWebhook);
        HttpRequest Query(string mode, string token)
        {
            var context = new DefaultHttpContext();
            context.Request.Method = "GET";
            context.Request.QueryString = QueryString.Create(new Dictionary<string, string?> { ["hub.mode"] = mode, ["hub.verify_token"] = token, ["hub.challenge"] = "1158201444" });
            return context.Request;
        }

        var accepted = await HttpTestRequests.ExecuteAsync(function.WhatsAppWebhookHandshake(Query("subscribe", TestSecrets.VerifyToken)));
        var wrongToken = await HttpTestRequests.ExecuteAsync(function.WhatsAppWebhookHandshake(Query("subscribe", "guess")));
        var wrongMode = await HttpTestRequests.ExecuteAsync(function.WhatsAppWebhookHandshake(Query("unsubscribe", TestSecrets.VerifyToken)));

        Assert.Equal(200, accepted.Status);
        Assert.Equal("text/plain", accepted.MediaType);
        Assert.Equal("1158201444", accepted.Body);
        Assert.Equal(403, wrongToken.Status);
        Assert.Equal("urn:otpfailover:problem:webhook-handshake-refused", wrongToken.ProblemType);
        Assert.Equal(403, wrongMode.Status);
    }

    [Fact]
    public async Task ABatch_AppliesEveryStatusInEveryEntryAndChange_AndIgnoresInboundMessages()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (first, _) = await app.StartAndAwaitWhatsAppAsync("+14155550111");
        var (second, _) = await app.StartAndAwaitWhatsAppAsync("+14155550112");
        var firstWamid = (await app.GetAsync(first.Id)).SendOn(Channel.WhatsApp)?.MessageId!;
        var secondWamid = (await app.GetAsync(second.Id)).SendOn(Channel.WhatsApp)?.MessageId!;
        var body = Build(
            [new Status(firstWamid, "delivered", 1750263773, $"v1:{first.Id}", PricingCategory: "authentication")],
            [new Status(secondWamid, "read", 1750263780, $"v1:{second.Id}"), new Status("wamid.someone-elses", "delivered", 1750263781)]);

        var response = await HttpTestRequests.ExecuteAsync(await app.WhatsAppWebhook.NotifyAsync(body, Sign(body), app.Client, default));

        Assert.Equal(200, response.Status);
        Assert.Equal(2, response.Json.GetProperty("applied").GetInt32());
        Assert.Equal(1, response.Json.GetProperty("unknown").GetInt32());
        var delivered = Assert.Single((await app.GetAsync(first.Id)).Timeline, e => e.Type == TimelineEventTypes.WhatsAppDelivered);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1750263773), delivered.At);
        Assert.Equal("pricing: authentication", delivered.Detail);
        Assert.Equal(DeliveryStatus.Read, (await app.GetAsync(second.Id)).SendOn(Channel.WhatsApp)?.Delivery);
    }

    [Fact]
    public async Task OutOfOrderAndDuplicateStatuses_Answer200_AndChangeNothing()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();
        var wamid = app.WhatsApp.Answers[0].ProviderMessageId!;
        var read = Build([new Status(wamid, "read", 1750263790, $"v1:{verification.Id}")]);
        var stale = Build([new Status(wamid, "delivered", 1750263780, $"v1:{verification.Id}"), new Status(wamid, "sent", 1750263770, $"v1:{verification.Id}")]);

        var first = await HttpTestRequests.ExecuteAsync(await app.WhatsAppWebhook.NotifyAsync(read, Sign(read), app.Client, default));
        var duplicate = await HttpTestRequests.ExecuteAsync(await app.WhatsAppWebhook.NotifyAsync(read, Sign(read), app.Client, default));
        var outOfOrder = await HttpTestRequests.ExecuteAsync(await app.WhatsAppWebhook.NotifyAsync(stale, Sign(stale), app.Client, default));

        Assert.Equal(1, first.Json.GetProperty("applied").GetInt32());
        Assert.Equal((200, 0, 1), (duplicate.Status, duplicate.Json.GetProperty("applied").GetInt32(), duplicate.Json.GetProperty("unchanged").GetInt32()));
        Assert.Equal((200, 0, 2), (outOfOrder.Status, outOfOrder.Json.GetProperty("applied").GetInt32(), outOfOrder.Json.GetProperty("unchanged").GetInt32()));
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal([TimelineEventTypes.Created, TimelineEventTypes.WhatsAppSent, TimelineEventTypes.WhatsAppRead], stored.Timeline.Select(e => e.Type));
    }

    [Fact]
    public async Task AStatusWithoutCallbackData_IsMatchedByTheRecordedMessageId()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, wamid) = await StartAndAwaitIndexedAsync(app);

        await AssertADeliveredStatusWithoutCallbackDataIsAppliedAsync(app, verification.Id, wamid);
    }

    [Fact]
    public async Task AStatusWithoutCallbackData_ForASendIndexedBefore14_IsMatchedByItsLegacyIndex()
    {
        // 1.3 keyed the index by the id's plain SHA-256; a verification in flight across the upgrade still has only that.
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, wamid) = await StartAndAwaitIndexedAsync(app);
        foreach (var row in (await app.RowsAsync()).Where(r => r.PartitionKey.StartsWith("msg-whatsapp-", StringComparison.Ordinal)).ToList())
        {
            await app.Table.DeleteEntityAsync(row.PartitionKey, row.RowKey);
        }

        var legacy = $"msg-whatsapp-{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(wamid)))}";
        await app.Table.AddEntityAsync(new Azure.Data.Tables.TableEntity(legacy, "message") { ["VerificationId"] = verification.Id });

        await AssertADeliveredStatusWithoutCallbackDataIsAppliedAsync(app, verification.Id, wamid);
    }

    /// <summary>A verification whose WhatsApp message is recorded: the row and then the index have it (in that order).</summary>
    private static async Task<(Verification Verification, string MessageId)> StartAndAwaitIndexedAsync(TestApp app)
    {
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();
        var wamid = app.WhatsApp.Answers[0].ProviderMessageId!;
        await Eventually.WaitUntilAsync(async () => await app.Store.FindByProviderMessageAsync(Channel.WhatsApp, wamid) == verification.Id, TimeSpan.FromSeconds(10), "the message id to be indexed");
        return (verification, wamid);
    }

    private static async Task AssertADeliveredStatusWithoutCallbackDataIsAppliedAsync(TestApp app, string verificationId, string wamid)
    {
        var body = Build([new Status(wamid, "delivered", 1750263773)]);

        var response = await HttpTestRequests.ExecuteAsync(await app.WhatsAppWebhook.NotifyAsync(body, Sign(body), app.Client, default));

        Assert.Equal(1, response.Json.GetProperty("applied").GetInt32());
        Assert.Equal(DeliveryStatus.Delivered, (await app.GetAsync(verificationId)).SendOn(Channel.WhatsApp)?.Delivery);
    }

    [Fact]
    public async Task AFailedStatus_RecordsTheErrorOnTheTimeline_AndSendsTheSmsAtOnce()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.AwaitingWhatsAppDelivery);
        var wamid = app.WhatsApp.Answers[0].ProviderMessageId!;
        var body = Build([new Status(wamid, "failed", 1750263773, $"v1:{verification.Id}", 131026, "Message undeliverable")]);

        var response = await HttpTestRequests.ExecuteAsync(await app.WhatsAppWebhook.NotifyAsync(body, Sign(body), app.Client, default));

        Assert.Equal(200, response.Status);
        var sms = await app.Sms.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(10));
        Assert.Equal(code, sms.Code);
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal("131026 Message undeliverable", Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.WhatsAppFailed).Detail);
        Assert.Equal("failed", Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.Failover).Reason);
    }

    [Theory]
    [InlineData(99_999_999_999_999L)]
    [InlineData(253_402_300_800L)]
    [InlineData(0L)]
    public async Task ASignedStatusWithAnOutOfRangeTimestamp_IsIgnored_With200_NeverA500(long timestamp)
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();
        var wamid = app.WhatsApp.Answers[0].ProviderMessageId!;
        var body = Build([new Status(wamid, "delivered", timestamp, $"v1:{verification.Id}"), new Status(wamid, "read", 1750263790, $"v1:{verification.Id}")]);

        var response = await HttpTestRequests.ExecuteAsync(await app.WhatsAppWebhook.NotifyAsync(body, Sign(body), app.Client, default));

        Assert.Equal(200, response.Status);
        Assert.Equal(1, response.Json.GetProperty("applied").GetInt32());
        Assert.Equal(1, response.Json.GetProperty("unchanged").GetInt32());
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(DeliveryStatus.Read, stored.SendOn(Channel.WhatsApp)?.Delivery);
        Assert.DoesNotContain(stored.Timeline, e => e.Type == TimelineEventTypes.WhatsAppDelivered);
    }

    [Fact]
    public async Task ACorrectlySignedBodyThatIsNotJson_Answers400ProblemDetails()
    {
        await using var app = await TestApp.StartAsync();
        var body = Encoding.UTF8.GetBytes("{\"object\":");

        var response = await HttpTestRequests.ExecuteAsync(await app.WhatsAppWebhook.NotifyAsync(body, Sign(body), app.Client, default));

        Assert.Equal(400, response.Status);
        Assert.Equal("application/problem+json", response.MediaType);
        Assert.DoesNotContain("Exception", response.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAnAppSecretConfigured_EveryNotificationIsRefused()
    {
        await using var app = await TestApp.StartAsync(services: s => s.AddSingleton(Microsoft.Extensions.Options.Options.Create(new WhatsAppOptions())));
        var body = Fixture();

        var result = await HttpTestRequests.ExecuteAsync(await app.WhatsAppWebhook.NotifyAsync(body, Sign(body), app.Client, default));

        Assert.Equal(401, result.Status);
        Assert.Equal("urn:otpfailover:problem:webhook-unauthenticated", result.ProblemType);
    }

    [Theory]
    [InlineData("""{"object":"whatsapp_business_account","entry":[null]}""")]
    [InlineData("""{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[null]}]}""")]
    [InlineData("""{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","statuses":[null]}}]}]}""")]
    public async Task ASignedNotificationWithNullItems_Answers200_AndChangesNothing(string json)
    {
        await using var app = await TestApp.StartAsync();
        var body = Encoding.UTF8.GetBytes(json);

        var response = await HttpTestRequests.ExecuteAsync(await app.WhatsAppWebhook.NotifyAsync(body, Sign(body), app.Client, default));

        Assert.Equal(200, response.Status);
        Assert.Equal(0, response.Json.GetProperty("applied").GetInt32());
    }
}
