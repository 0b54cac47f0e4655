using OtpFailover.Simulator;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Tests.Sms;
using OtpFailover.Tests.WhatsApp;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Durability;

/// <summary>
/// Whole verifications through the real provider clients while a provider throttles, fails, hangs or drops the
/// connection: nothing is lost, every outcome is on the timeline, and no message is duplicated beyond what the README
/// promises (at most one message per channel; never two WhatsApp messages, never two SMS).
/// </summary>
public sealed class ProviderFaultTests : IAsyncLifetime
{
    private WhatsAppCloudApiStandIn _graph = null!;
    private AcsSmsStandIn _acs = null!;

    public async Task InitializeAsync()
    {
        _graph = await WhatsAppStandIns.StartGraphApiAsync();
        _acs = await AcsStandIns.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _graph.DisposeAsync();
        await _acs.DisposeAsync();
    }

    private Task<TestApp> StartAppAsync(TimeSpan? requestTimeout = null) => TestApp.StartAsync(
        o => (o.WhatsAppDeliveryTimeout, o.CodeLifetime) = (TimeSpan.FromSeconds(3), TimeSpan.FromMinutes(2)),
        services: s =>
        {
            WhatsAppStandIns.UseCloudApi(s, _graph.BaseUrl, requestTimeout ?? TimeSpan.FromSeconds(2));
            AcsStandIns.UseAcs(s, AcsStandIns.Settings(_acs, requestTimeout: requestTimeout ?? TimeSpan.FromSeconds(2)));
        });

    private static string Code(SentSms sms) => sms.Message[..6];

    private async Task<Verification> ApprovedBySmsAsync(TestApp app, Verification verification)
    {
        await Eventually.WaitUntilAsync(() => _acs.Sent.Count >= 1, TimeSpan.FromSeconds(60), "the SMS");
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, Code(_acs.Sent.Single()), app.Client, default)).Outcome);
        return await app.GetAsync(verification.Id);
    }

    [Fact]
    public async Task SmsThrottledWithRetryAfter_ForLongerThanTheSendersAttempts_IsDeferred_AndGoesOutOnceWhenTheThrottlingEnds()
    {
        var throttledUntil = DateTimeOffset.UtcNow.AddSeconds(12);
        _graph.Answer = (_, _) => StandInAnswer.GraphError(400, WhatsAppErrorCodes.Undeliverable, "Message undeliverable");
        _acs.Answer = _ => DateTimeOffset.UtcNow < throttledUntil ? AcsAnswer.Throttled(TimeSpan.FromSeconds(1)) : AcsAnswer.Accept;
        await using var app = await StartAppAsync();

        var verification = await ApprovedBySmsAsync(app, await app.StartAsync("+14155550123"));

        Assert.Single(_acs.Sent);
        var types = verification.Timeline.Select(e => e.Type).ToList();
        Assert.Contains(TimelineEventTypes.SmsDeferred, types);
        Assert.Equal("sms_http_429", verification.Timeline.First(e => e.Type == TimelineEventTypes.SmsDeferred).Detail);
        Assert.True(types.IndexOf(TimelineEventTypes.SmsDeferred) < types.IndexOf(TimelineEventTypes.SmsSent));
        Assert.Equal(VerificationStatus.Approved, verification.Status);
    }

    [Fact]
    public async Task SmsServiceUnavailable_ForAWhile_IsDeferred_AndGoesOutOnce()
    {
        var downUntil = DateTimeOffset.UtcNow.AddSeconds(8);
        _graph.Answer = (_, _) => StandInAnswer.GraphError(400, WhatsAppErrorCodes.Undeliverable, "Message undeliverable");
        _acs.Answer = _ => DateTimeOffset.UtcNow < downUntil ? AcsAnswer.Status(503) : AcsAnswer.Accept;
        await using var app = await StartAppAsync();

        var verification = await ApprovedBySmsAsync(app, await app.StartAsync("+14155550123"));

        Assert.Single(_acs.Sent);
        Assert.Contains(verification.Timeline, e => e.Type == TimelineEventTypes.SmsDeferred && e.Detail == "sms_http_503");
    }

    public static TheoryData<string> SmsAnswersLost => ["hang", "drop"];

    [Theory]
    [MemberData(nameof(SmsAnswersLost))]
    public async Task AnSmsWhoseAnswerIsLost_IsRepeatedWithTheSamePair_AndTheUserGetsOneSms(string fault)
    {
        _graph.Answer = (_, _) => StandInAnswer.GraphError(400, WhatsAppErrorCodes.Undeliverable, "Message undeliverable");
        _acs.Answer = call => call == 0 ? (fault == "hang" ? AcsAnswer.SendThenHang : AcsAnswer.SendThenDrop) : AcsAnswer.Accept;
        await using var app = await StartAppAsync(TimeSpan.FromSeconds(1));

        var verification = await ApprovedBySmsAsync(app, await app.StartAsync("+14155550123"));

        Assert.Single(_acs.Sent);
        Assert.True(_acs.Requests.Count >= 2);
        Assert.Null(Assert.Single(verification.Timeline, e => e.Type == TimelineEventTypes.SmsSent).Detail);
    }

    public static TheoryData<string, string> WhatsAppFaults => new()
    {
        { "throttled", "whatsapp_130429_throughput_limit" },
        { "5xx", WhatsAppCloudApiSender.OutcomeUnknown },
        { "hang", WhatsAppCloudApiSender.OutcomeUnknown },
        { "drop", WhatsAppCloudApiSender.OutcomeUnknown },
    };

    [Theory]
    [MemberData(nameof(WhatsAppFaults))]
    public async Task AWhatsAppThatThrottlesFailsHangsOrDrops_FailsOverToOneSms_AndIsNeverAskedTwiceForAnUnknownOutcome(string fault, string detail)
    {
        _graph.Answer = (_, _) => fault switch
        {
            "throttled" => StandInAnswer.GraphError(400, 130429, "Rate limit hit"),
            "5xx" => StandInAnswer.BareStatus(503),
            "hang" => StandInAnswer.Hanging,
            _ => StandInAnswer.Dropped,
        };
        await using var app = await StartAppAsync(TimeSpan.FromSeconds(1));

        var verification = await ApprovedBySmsAsync(app, await app.StartAsync("+14155550123"));

        Assert.Equal(fault == "throttled" ? 3 : 1, _graph.Calls);
        Assert.Single(_acs.Sent);
        var failover = Assert.Single(verification.Timeline, e => e.Type == TimelineEventTypes.Failover);
        Assert.Equal("send_error", failover.Reason);
        Assert.Equal(detail, failover.Detail);
    }
}
