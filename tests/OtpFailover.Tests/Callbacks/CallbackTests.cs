using System.Net;
using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Callbacks;
using OtpFailover.Channels;
using OtpFailover.Sms;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;
using static OtpFailover.Tests.Http.HttpTestRequests;

namespace OtpFailover.Tests.Callbacks;

/// <summary>
/// Status callbacks against a local receiver that verifies each signature with an independent Standard Webhooks
/// library: their order, their content, retries after failures, and the hosts they may go to.
/// </summary>
public sealed class CallbackTests
{
    private static readonly string[] FailoverFlow = ["whatsapp.sent", "failover", "sms.sent", "approved"];

    /// <summary>The app with callbacks on: the receivers' hosts and ports allowed, http allowed (local development).</summary>
    internal static Task<TestApp> StartAppAsync(CallbackReceiver[] receivers, Action<CallbackOptions>? configure = null, Action<VerificationOptions>? verification = null, string environment = "Development", DurableBackend backend = DurableBackend.InMemory, TimeProvider? time = null) =>
        TestApp.StartAsync(verification, time: time, backend: backend, services: services => CallbackReceiver.UseIn(services, receivers, configure, environment));

    private static async Task<string> StartThroughApiAsync(TestApp app, string phoneNumber, string? callbackUrl, string? clientReference = "order-42")
    {
        var body = JsonSerializer.Serialize(new { phoneNumber, clientReference, callbackUrl });
        var response = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", body), app.Client, default));
        Assert.True(response.Status == 202, response.Body);
        return response.Json.GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task AFailoverFlow_CallsBackEachStep_SignedAndInOrder_WithoutTheCodeOrTheNumber_AndALateDeliveryReportToo()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        await using var app = await StartAppAsync([receiver]);
        const string number = "+14155550177";

        var id = await StartThroughApiAsync(app, number, receiver.Url.AbsoluteUri);
        var message = await app.WhatsApp.WaitForMessageAsync(1);
        // WhatsApp never confirms: the timeout fails over. The workflow's own steps reach the receiver as they happen.
        await receiver.WaitForAcceptedAsync("whatsapp.sent", "failover", "sms.sent");
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(id, message.Code, app.Client, default)).Outcome);
        await receiver.WaitForAcceptedAsync(FailoverFlow);

        // The SMS delivery report comes after the approval: the receiver still hears of it.
        Assert.Equal(StatusUpdateOutcome.Applied, await app.Verifications.ApplySmsDeliveryReportAsync(id, true, DateTimeOffset.UtcNow, null, app.Client, default));
        var accepted = await receiver.WaitForAcceptedAsync([.. FailoverFlow, "sms.delivered"]);

        Assert.Equal([.. FailoverFlow, "sms.delivered"], accepted.Select(r => r.Type));
        Assert.All(receiver.Received, r => Assert.True(r.SignatureValid));
        Assert.Equal(accepted.Select(r => r.Sequence).Order(), accepted.Select(r => r.Sequence));
        Assert.Equal(accepted.Count, accepted.Select(r => r.Id).Distinct().Count());
        using var openApi = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "openapi.json")));
        foreach (var callback in accepted)
        {
            using var json = JsonDocument.Parse(callback.Body);
            var root = json.RootElement;
            Http.FunctionsMetadataTests.AssertMatches(openApi.RootElement.GetProperty("components").GetProperty("schemas"), "CallbackEvent", root);
            Assert.Equal(id, root.GetProperty("verificationId").GetString());
            Assert.Equal("order-42", root.GetProperty("clientReference").GetString());
            Assert.Equal(callback.Type!.StartsWith("whatsapp", StringComparison.Ordinal) ? "whatsapp" : "sms", root.GetProperty("channel").GetString());
            Assert.True(root.GetProperty("occurredAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-1));
            Assert.DoesNotContain(message.Code, callback.Body, StringComparison.Ordinal);
            Assert.DoesNotContain("4155550177", callback.Body, StringComparison.Ordinal);
        }

        using (var failover = JsonDocument.Parse(accepted.Single(r => r.Type == "failover").Body))
        {
            Assert.Equal("timeout", failover.RootElement.GetProperty("reason").GetString());
        }
    }

    [Fact]
    public async Task AReceiverAnswering500_GetsTheSameEventAgain_AndNoLaterEventOvertakesIt()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        receiver.Answer = (callback, seen) => callback.Type == "whatsapp.sent" && seen < 3 ? HttpStatusCode.InternalServerError : HttpStatusCode.OK;
        await using var app = await StartAppAsync([receiver]);

        var id = await StartThroughApiAsync(app, "+14155550178", receiver.Url.AbsoluteUri);
        var message = await app.WhatsApp.WaitForMessageAsync(1);
        await app.WaitForPhaseAsync(id, WorkflowPhases.SmsSent);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(id, message.Code, app.Client, default)).Outcome);
        var accepted = await receiver.WaitForAcceptedAsync(FailoverFlow);

        Assert.Equal(FailoverFlow, accepted.Select(r => r.Type));
        var sent = receiver.Received.Where(r => r.Type == "whatsapp.sent").ToList();
        Assert.Equal([500, 500, 500, 200], sent.Select(r => r.AnsweredWith));
        Assert.Single(sent.Select(r => r.Id).Distinct());
        var firstAccepted = sent[^1].At;
        Assert.All(receiver.Received.Where(r => r.Type != "whatsapp.sent"), r => Assert.True(r.At >= firstAccepted, $"{r.Type} went out before whatsapp.sent was accepted"));
    }

    [Fact]
    public async Task ARedirect_IsNotFollowed_AndCountsAsAFailure()
    {
        await using var elsewhere = await CallbackReceiver.StartAsync();
        await using var receiver = await CallbackReceiver.StartAsync();
        receiver.Answer = (_, seen) => seen == 0 ? HttpStatusCode.Redirect : HttpStatusCode.NoContent;
        receiver.AnswerHeaders["Location"] = elsewhere.Url.AbsoluteUri;
        await using var app = await StartAppAsync([receiver]);

        var id = await StartThroughApiAsync(app, "+14155550179", receiver.Url.AbsoluteUri);
        await app.WhatsApp.WaitForMessageAsync(1);
        Assert.Equal(ChangeOutcome.Done, (await app.Verifications.CancelAsync(id, app.Client, default)).Outcome);
        await receiver.WaitForAcceptedAsync("whatsapp.sent", "canceled");

        Assert.Empty(elsewhere.Received);
        Assert.Equal(302, receiver.Received.First(r => r.Type == "whatsapp.sent").AnsweredWith);
    }

    [Fact]
    public async Task AReceiverThatNeverAccepts_IsGivenUpAfterRetryFor_AndTheDeliveryEnds()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        receiver.Answer = (_, _) => HttpStatusCode.ServiceUnavailable;
        await using var app = await StartAppAsync([receiver], o => o.RetryFor = TimeSpan.FromSeconds(3));

        var id = await StartThroughApiAsync(app, "+14155550180", receiver.Url.AbsoluteUri);
        using var timeout = new CancellationTokenSource(TestApp.FlowTimeout);
        var delivery = await app.Client.WaitForInstanceCompletionAsync(CallbackDelivery.InstanceIdFor(id), timeout.Token);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, delivery.RuntimeStatus);
        var attempts = receiver.Received.Count;
        Assert.InRange(attempts, 3, 30);
        Assert.All(receiver.Received, r => Assert.Equal("whatsapp.sent", r.Type));
        await Task.Delay(1500);
        Assert.Equal(attempts, receiver.Received.Count);
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Level == Microsoft.Extensions.Logging.LogLevel.Error && r.Message.Contains("callbacks given up", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutAUrlOfItsOwn_AVerificationCallsBackTheGlobalUrl()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        await using var app = await StartAppAsync([], o => o.Url = receiver.Url.AbsoluteUri);

        var id = await StartThroughApiAsync(app, "+14155550181", callbackUrl: null, clientReference: null);
        await app.WhatsApp.WaitForMessageAsync(1);

        // Read, with no delivered before it (WhatsApp may skip it): the receiver hears that the user has the code.
        Assert.Equal(StatusUpdateOutcome.Applied, await app.Verifications.ApplyWhatsAppStatusAsync(id, DeliveryStatus.Read, DateTimeOffset.UtcNow, null, app.Client, default));
        await receiver.WaitForAcceptedAsync("whatsapp.sent", "whatsapp.read");
        Assert.Equal(ChangeOutcome.Done, (await app.Verifications.CancelAsync(id, app.Client, default)).Outcome);
        var accepted = await receiver.WaitForAcceptedAsync("whatsapp.sent", "whatsapp.read", "canceled");

        using var canceled = JsonDocument.Parse(accepted.Single(r => r.Type == "canceled").Body);
        Assert.False(canceled.RootElement.TryGetProperty("clientReference", out _));
        Assert.Equal("whatsapp", canceled.RootElement.GetProperty("channel").GetString());
    }

    [Fact]
    public async Task ASignatureMadeWithAnotherKey_DoesNotVerify()
    {
        await using var receiver = await CallbackReceiver.StartAsync(verifyKey: "whsec_" + Convert.ToBase64String(new byte[32]));
        await using var app = await StartAppAsync([receiver]);

        await StartThroughApiAsync(app, "+14155550182", receiver.Url.AbsoluteUri);
        await Eventually.WaitUntilAsync(() => Task.FromResult(receiver.Received.Count > 0), TestApp.FlowTimeout, "a callback");

        Assert.All(receiver.Received, r => Assert.False(r.SignatureValid));
        Assert.Empty(receiver.Accepted);
    }

    [Theory]
    [InlineData("https://169.254.169.254/metadata/instance", "host")]
    [InlineData("https://localhost/hooks", "host")]
    [InlineData("https://example.com/hooks", "host")]
    [InlineData("https://evil.example.com.attacker.net/hooks", "host")]
    [InlineData("https://user:pass@hooks.example.com/x", "format")]
    [InlineData("https://hooks.example.com/x#frag", "format")]
    [InlineData("ftp://hooks.example.com/x", "format")]
    [InlineData("/relative/path", "format")]
    [InlineData("http://hooks.example.com/x", "https")]
    [InlineData("https://hooks.example.com:8443/x", "host")]
    [InlineData("https://hooks.example.com:443.evil.net/x", "format")]
    [InlineData("https://evilexample.com/hooks", "host")] // *.example.com matches by label, not by suffix
    [InlineData("https://hooks.evilexample.com/hooks", "host")]
    [InlineData("https://example.com./hooks", "host")]
    [InlineData("https://\u0378.example.com/otp", "format")] // Uri accepts these hosts, but they are not valid IDN
    [InlineData("https://\uFFFF.example.com/otp", "format")]
    [InlineData("https://\u2488.example.com/otp", "format")]
    public async Task AStartWithACallbackUrlThatIsNotAllowed_Answers400_AndWritesNothing(string callbackUrl, string rule)
    {
        await using var app = await StartAppAsync([], environment: "Production");
        var body = JsonSerializer.Serialize(new { phoneNumber = "+14155550183", callbackUrl });

        var response = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", body), app.Client, default));

        Assert.Equal(400, response.Status);
        Assert.Equal("application/problem+json", response.MediaType);
        Assert.Equal("urn:otpfailover:problem:callback-url-not-allowed", response.ProblemType);
        Assert.Equal(rule, response.Json.GetProperty("rule").GetString());
        Assert.DoesNotContain(callbackUrl, response.Body, StringComparison.Ordinal);
        Assert.Empty(await app.RowsAsync());
        Assert.Equal(0, app.WhatsApp.Calls);
    }

    [Fact]
    public async Task AStartWithACallbackUrl_IsRefused_WhenCallbacksAreOff()
    {
        await using var app = await TestApp.StartAsync();
        var body = JsonSerializer.Serialize(new { phoneNumber = "+14155550184", callbackUrl = "https://hooks.example.com/otp" });

        var response = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", body), app.Client, default));

        Assert.Equal(400, response.Status);
        Assert.Equal("not-enabled", response.Json.GetProperty("rule").GetString());
        Assert.Empty(await app.RowsAsync());
    }

    [Fact]
    public async Task AnAllowedSubdomainOverHttps_IsAccepted_AndStoredForTheVerification()
    {
        await using var app = await StartAppAsync([], environment: "Production");

        var id = await StartThroughApiAsync(app, "+14155550185", "https://hooks.eu.example.com/otp?tenant=7");

        Assert.Equal("https://hooks.eu.example.com/otp?tenant=7", (await app.Store.FindAsync(id))!.CallbackUrl);
        Assert.NotNull(await app.Client.GetInstanceAsync(CallbackDelivery.InstanceIdFor(id)));
    }

    [Fact]
    public async Task WithoutCallbacks_NoDeliveryIsStarted()
    {
        await using var app = await TestApp.StartAsync();

        var id = await StartThroughApiAsync(app, "+14155550186", callbackUrl: null);
        await app.WhatsApp.WaitForMessageAsync(1);

        Assert.Null((await app.Store.FindAsync(id))!.CallbackUrl);
        Assert.Null(await app.Client.GetInstanceAsync(CallbackDelivery.InstanceIdFor(id)));
    }

    [Fact]
    public async Task PastItsListeningTime_ADeliveryWaitsForTheEndingTheWorkflowHasNotWrittenYet()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        await using var app = await StartAppAsync([receiver], verification: o => o.CodeLifetime = TimeSpan.FromMinutes(5));
        var id = await StartThroughApiAsync(app, "+14155550187", receiver.Url.AbsoluteUri);
        await receiver.WaitForAcceptedAsync("whatsapp.sent");

        // A second delivery for the same verification, as one whose listening time ran out during an outage while
        // the workflow, behind, had not written the ending yet.
        var lateId = CallbackDelivery.InstanceIdFor(id) + ":late";
        var settings = app.Services.GetRequiredService<CallbackUrlPolicy>().Settings;
        await app.Client.ScheduleNewOrchestrationInstanceAsync(
            CallbackDelivery.OrchestratorName,
            new CallbackDeliveryInput(id, DateTimeOffset.UtcNow, settings.RetryFor, settings.FirstRetryInterval, settings.MaximumRetryInterval, LookAgainAfter: TimeSpan.FromMilliseconds(500)),
            new StartOrchestrationOptions(lateId));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await app.Client.GetInstanceAsync(lateId))!.RuntimeStatus);

        // The ending is written with no wake-up for that delivery: it finds it at its next look, delivers, and ends.
        await app.Store.UpdateAsync(id, e =>
        {
            e.End(VerificationStatus.Expired, TimelineEventTypes.Expired, DateTimeOffset.UtcNow);
            return true;
        });
        using var timeout = new CancellationTokenSource(TestApp.FlowTimeout);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await app.Client.WaitForInstanceCompletionAsync(lateId, timeout.Token)).RuntimeStatus);
        Assert.Contains(receiver.Accepted, r => r.Type == "expired");
    }

    [Fact]
    public async Task AHostTakenOffTheList_GetsNothingMore_FromVerificationsInFlight()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        await using var app = await StartAppAsync([receiver]);
        var id = await StartThroughApiAsync(app, "+14155550188", receiver.Url.AbsoluteUri);
        await receiver.WaitForAcceptedAsync("whatsapp.sent");
        var received = receiver.Received.Count;

        // The app restarted with the receiver's host no longer allowed (an app setting change restarts it).
        var settings = new CallbackOptions { SigningKey = CallbackReceiver.SigningKey, AllowedHosts = "*.example.com" };
        var policy = new CallbackUrlPolicy(Microsoft.Extensions.Options.Options.Create(settings), app.Services.GetRequiredService<IConfiguration>());
        var activities = ActivatorUtilities.CreateInstance<CallbackActivities>(app.Services, policy);
        await app.Store.UpdateAsync(id, e =>
        {
            e.End(VerificationStatus.Canceled, TimelineEventTypes.Canceled, DateTimeOffset.UtcNow);
            return true;
        });

        var result = await activities.DeliverAsync(new CallbackCursor(id, 0), default);

        Assert.True(result.Gone);
        Assert.Equal(received, receiver.Received.Count);
    }

    [Fact]
    public async Task Retention_KeepsTheRowOfAnEndedVerification_WhileItsCallbacksAreStillBeingDelivered()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        receiver.Answer = (_, _) => HttpStatusCode.ServiceUnavailable;
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await StartAppAsync([receiver], time: clock);
        var id = await StartThroughApiAsync(app, "+14155550189", receiver.Url.AbsoluteUri);
        await app.WhatsApp.WaitForMessageAsync(1);
        Assert.Equal(ChangeOutcome.Done, (await app.Verifications.CancelAsync(id, app.Client, default)).Outcome);
        await app.WaitForCompletionAsync(id);
        await Eventually.WaitUntilAsync(() => Task.FromResult(receiver.Received.Count >= 2), TestApp.FlowTimeout, "the receiver to refuse twice");

        // Long after KeepEndedFor, its receiver still down: the row is the delivery's outbox, so it stays.
        clock.Advance(TimeSpan.FromDays(31));
        await app.Services.GetRequiredService<OtpFailover.Retention.RetentionService>().PurgeAsync(app.Client, default);

        Assert.NotNull(await app.Store.FindAsync(id));
        Assert.False((await app.Client.GetInstanceAsync(CallbackDelivery.InstanceIdFor(id)))!.IsCompleted);
    }
}
