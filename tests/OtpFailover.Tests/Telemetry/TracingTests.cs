using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Trace;
using OtpFailover.Functions;
using OtpFailover.Telemetry;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Telemetry;

/// <summary>
/// One trace per verification, through the OpenTelemetry SDK as the app configures it (in-memory exporter): the start,
/// the orchestration's activities, the provider calls inside them, and the webhook that confirms delivery.
/// </summary>
[Collection(nameof(ProcessTracing))]
public sealed class TracingTests
{
    private static readonly ActivitySource Host = new("tests.functions-host");

    [Fact]
    public async Task AVerification_IsOneTrace_FromItsStart_ThroughItsActivitiesAndProviderCalls_ToTheWebhookThatConfirms()
    {
        var spans = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(Host.Name).AddOtpFailoverTracing().AddInMemoryExporter(spans).Build();
        await using var graph = await WhatsApp.WhatsAppStandIns.StartGraphApiAsync();
        await using var acs = await Sms.AcsStandIns.StartAsync();
        await using var app = await TestApp.StartAsync(services: s =>
        {
            WhatsApp.WhatsAppStandIns.UseCloudApi(s, graph.BaseUrl);
            Sms.AcsStandIns.UseAcs(s, Sms.AcsStandIns.Settings(acs));
        });

        // Each request runs in its own invocation span, as the Functions host gives it.
        Verification started;
        using (Host.StartActivity("POST /api/verifications", ActivityKind.Server))
        {
            started = await app.StartAsync("+14155550166", "order-7");
        }

        var id = started.Id;
        await app.WaitForPhaseAsync(id, WorkflowPhases.SmsSent); // WhatsApp is silent: the timeout fails over
        var template = graph.Received.Single();
        ActivityContext webhookRequest;
        using (var request = Host.StartActivity("POST /api/webhooks/whatsapp", ActivityKind.Server))
        {
            webhookRequest = request!.Context;
            var body = WhatsApp.WhatsAppNotifications.Build([new WhatsApp.WhatsAppNotifications.Status(template.MessageId, "delivered", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), template.CallbackData)]);
            await app.WhatsAppWebhook.NotifyAsync(body, WhatsAppSignature.Compute(body, TestSecrets.AppSecret), app.Client, default);
        }

        using (Host.StartActivity("POST /api/verifications/{id}/check", ActivityKind.Server))
        {
            Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(id, template.BodyCode, app.Client, default)).Outcome);
        }

        await app.WaitForCompletionAsync(id);
        tracing.ForceFlush();

        var snapshot = spans.ToList();
        var ours = snapshot.Where(s => s.GetTagItem(VerificationTracing.VerificationIdTag) as string == id).ToList();
        var root = Assert.Single(ours, s => s.DisplayName == "otpfailover.verification.start");
        var startRequest = snapshot.Single(s => s.DisplayName == "POST /api/verifications");
        Assert.Equal(default, root.ParentSpanId); // a root of its own, linked to the request that started it
        Assert.Contains(root.Links, l => l.Context.SpanId == startRequest.SpanId);
        Assert.NotEqual(startRequest.TraceId, root.TraceId);
        Assert.All(ours, s => Assert.Equal(root.TraceId, s.TraceId));
        foreach (var step in new[] { "otpfailover.whatsapp.send", "otpfailover.sms.send", "otpfailover.whatsapp.status", "otpfailover.verification.check" })
        {
            var span = Assert.Single(ours, s => s.DisplayName == step);
            Assert.Equal(root.SpanId, span.ParentSpanId);
        }

        // The webhook's step is in the verification's trace, and linked to the request that carried it.
        var status = ours.Single(s => s.DisplayName == "otpfailover.whatsapp.status");
        Assert.Contains(status.Links, l => l.Context.SpanId == webhookRequest.SpanId);

        // Each provider call is an HTTP client span inside its send, with no query string and no body.
        var whatsAppSend = ours.Single(s => s.DisplayName == "otpfailover.whatsapp.send");
        var smsSend = ours.Single(s => s.DisplayName == "otpfailover.sms.send");
        var providerCalls = snapshot.Where(s => s.Kind == ActivityKind.Client && (s.ParentSpanId == whatsAppSend.SpanId || s.ParentSpanId == smsSend.SpanId)).ToList();
        Assert.Contains(providerCalls, s => s.ParentSpanId == whatsAppSend.SpanId && (s.GetTagItem("url.full") as string)!.StartsWith(graph.BaseUrl.GetLeftPart(UriPartial.Authority), StringComparison.Ordinal));
        Assert.Contains(providerCalls, s => s.ParentSpanId == smsSend.SpanId);
        Assert.All(providerCalls, s =>
        {
            Assert.Equal(root.TraceId, s.TraceId);
            var url = s.GetTagItem("url.full") as string;
            Assert.NotNull(url);
            Assert.DoesNotContain("?", url, StringComparison.Ordinal);
            Assert.Null(s.GetTagItem("url.query"));
            Assert.DoesNotContain(s.TagObjects, t => Convert.ToString(t.Value, System.Globalization.CultureInfo.InvariantCulture)!.Contains(template.BodyCode, StringComparison.Ordinal));
        });
    }

    [Fact]
    public async Task ACallersTrace_DoesNotBecomeTheTraceOfTheVerificationsItStarts()
    {
        var spans = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(Host.Name).AddOtpFailoverTracing().AddInMemoryExporter(spans).Build();
        await using var app = await TestApp.StartAsync();

        // One caller's trace (sampled) around two starts for two people.
        var callers = ActivityContext.Parse($"00-{ActivityTraceId.CreateRandom().ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01", null);
        Verification first, second;
        using (Host.StartActivity("POST /api/verifications", ActivityKind.Server, callers))
        {
            first = await app.StartAsync("+14155550168");
            second = await app.StartAsync("+14155550169");
        }

        var firstContext = ActivityContext.Parse((await app.Store.FindAsync(first.Id))!.TraceParent!, null);
        var secondContext = ActivityContext.Parse((await app.Store.FindAsync(second.Id))!.TraceParent!, null);
        Assert.NotEqual(callers.TraceId, firstContext.TraceId);
        Assert.NotEqual(firstContext.TraceId, secondContext.TraceId);
        Assert.True(firstContext.TraceFlags.HasFlag(ActivityTraceFlags.Recorded));
        await app.WhatsApp.WaitForMessageAsync(2);
        tracing.ForceFlush();
        Assert.Contains(spans.ToList(), s => s.DisplayName == "otpfailover.whatsapp.send" && s.TraceId == firstContext.TraceId);
    }

    [Fact]
    public async Task AVerificationWhoseStartIsNotSampled_LeavesOutEveryLaterStep_InsteadOfScatteringThem()
    {
        var spans = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .SetSampler(new ParentBasedSampler(new AlwaysOffSampler()))
            .AddSource(Host.Name).AddOtpFailoverTracing().AddInMemoryExporter(spans).Build();
        await using var app = await TestApp.StartAsync();

        var started = await app.StartAsync("+14155550170");
        await app.WhatsApp.WaitForMessageAsync(1);
        var message = app.WhatsApp.Messages.Single();

        // The check runs inside an invocation that is itself sampled (its caller said so).
        var sampledRequest = ActivityContext.Parse($"00-{ActivityTraceId.CreateRandom().ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01", null);
        using (Host.StartActivity("POST /api/verifications/{id}/check", ActivityKind.Server, sampledRequest))
        {
            Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(started.Id, message.Code, app.Client, default)).Outcome);
        }

        tracing.ForceFlush();
        var stored = (await app.Store.FindAsync(started.Id))!.TraceParent;
        Assert.NotNull(stored);
        Assert.EndsWith("-00", stored, StringComparison.Ordinal);
        Assert.DoesNotContain(spans.ToList(), s => s.GetTagItem(VerificationTracing.VerificationIdTag) as string == started.Id);
    }

    [Fact]
    public async Task WithNothingListening_TheRowStillKeepsAContext_MarkedNotSampled()
    {
        await using var app = await TestApp.StartAsync();

        var started = await app.StartAsync("+14155550171");

        var stored = (await app.Store.FindAsync(started.Id))!.TraceParent;
        Assert.NotNull(stored);
        Assert.False(ActivityContext.Parse(stored, null).TraceFlags.HasFlag(ActivityTraceFlags.Recorded));
    }

    [Theory]
    [InlineData("http://127.0.0.1:10002/devstoreaccount1/Verifications(PartitionKey='usage-number-abc',RowKey='usage')?timeout=30", "http://127.0.0.1:10002/devstoreaccount1/Verifications()")]
    [InlineData("https://graph.facebook.com/v24.0/106540352242922/messages", "https://graph.facebook.com/v24.0/106540352242922/messages")]
    [InlineData("https://contoso.communication.azure.com/sms?api-version=2021-03-07", "https://contoso.communication.azure.com/sms")]
    public void OutboundUrls_AreCutToTheirPath_WithoutQueryOrEntityKeys(string url, string exported) =>
        Assert.Equal(exported, OtpFailover.Functions.Telemetry.RedactedUrl(new Uri(url)));
}

/// <summary>
/// Tests that install an OpenTelemetry tracer provider: listeners are process-wide, and a source samples as its most
/// permissive listener says, so these run alone (not beside each other or anything else).
/// </summary>
[CollectionDefinition(nameof(ProcessTracing), DisableParallelization = true)]
public sealed class ProcessTracing;
