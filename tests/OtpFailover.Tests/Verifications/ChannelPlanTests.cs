using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Channels;
using OtpFailover.PhoneNumbers;
using OtpFailover.Sms;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;
using static OtpFailover.Tests.Http.HttpTestRequests;

namespace OtpFailover.Tests.Verifications;

/// <summary>
/// The channel plan: which channels a verification uses and in what order (the settings, the number's country, or the
/// start's own list), walked by the workflow on the durable engine with the channels' recording stand-ins.
/// </summary>
public sealed class ChannelPlanTests
{
    private static async Task<Verification> StartAsync(TestApp app, string phoneNumber, IReadOnlyList<Channel>? channels = null)
    {
        Assert.True(PhoneNumber.TryParse(phoneNumber, out var number));
        var result = await app.Verifications.StartAsync(new StartRequest(number, Channels: channels), app.Client, default);
        Assert.Equal(StartOutcome.Started, result.Outcome);
        return result.Verification!;
    }

    private static IReadOnlyList<(Channel Channel, string State)> Progress(Verification verification) =>
        [.. OtpFailover.Functions.Http.ChannelProgress.Of(verification).Select(p => (p.Channel, WireNames.Of(p.State)))];

    [Fact]
    public async Task SmsThenWhatsApp_SendsTheSmsFirst_AndWithoutADeliveryWait_MovesToWhatsAppOnlyOnAResend()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "sms, whatsapp");
        var verification = await StartAsync(app, "+14155550123");
        Assert.Equal(Channel.Sms, verification.Channel);

        var sms = await app.Sms.WaitForMessageAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.Of(Channel.Sms, WorkflowPhases.AwaitingDelivery));
        await Task.Delay(TimeSpan.FromSeconds(4)); // longer than WhatsApp's wait: SMS has none, so nothing moves
        Assert.Equal(0, app.WhatsApp.Calls);
        Assert.Equal([(Channel.Sms, "sent"), (Channel.WhatsApp, "planned")], Progress(await app.GetAsync(verification.Id)));

        Assert.Equal(ChangeOutcome.Done, (await app.Verifications.ResendAsync(verification.Id, app.Client, default)).Outcome);

        var whatsApp = await app.WhatsApp.WaitForMessageAsync();
        Assert.Equal(sms.Code, whatsApp.Code);
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.Of(Channel.WhatsApp, WorkflowPhases.Sent));
        var stored = await app.GetAsync(verification.Id);
        var failover = Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.Failover);
        Assert.Equal(("requested", Channel.WhatsApp), (failover.Reason, failover.Channel));
        Assert.Equal(Channel.WhatsApp, stored.Channel);
        Assert.Equal([TimelineEventTypes.Created, TimelineEventTypes.SmsSent, TimelineEventTypes.Failover, TimelineEventTypes.WhatsAppSent], stored.Timeline.Select(e => e.Type));
        Assert.Equal(ChangeOutcome.NoChannelLeft, (await app.Verifications.ResendAsync(verification.Id, app.Client, default)).Outcome);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, sms.Code, app.Client, default)).Outcome);
    }

    [Fact]
    public async Task SmsThenWhatsApp_WithADeliveryWait_MovesToWhatsAppWhenNoReportComes()
    {
        await using var app = await TestApp.StartAsync(o => (o.Channels, o.SmsDeliveryTimeout) = ("sms, whatsapp", TimeSpan.FromSeconds(2)));
        var verification = await StartAsync(app, "+14155550123");

        await app.Sms.WaitForMessageAsync();
        await app.WhatsApp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(15));

        var failover = Assert.Single((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover);
        Assert.Equal(("timeout", Channel.WhatsApp), (failover.Reason, failover.Channel));
    }

    [Fact]
    public async Task SmsThenWhatsApp_ADeliveredReport_StopsTheMove_AndAFailedOne_MovesAtOnce()
    {
        await using var app = await TestApp.StartAsync(o => (o.Channels, o.SmsDeliveryTimeout) = ("sms, whatsapp", TimeSpan.FromSeconds(3)));
        var delivered = await StartAsync(app, "+14155550123");
        var failed = await StartAsync(app, "+14155550124");
        await app.Sms.WaitForMessageAsync(2);

        Assert.Equal(StatusUpdateOutcome.Applied, await app.Verifications.ApplySmsDeliveryReportAsync(delivered.Id, true, DateTimeOffset.UtcNow, null, app.Client, default));
        Assert.Equal(StatusUpdateOutcome.Applied, await app.Verifications.ApplySmsDeliveryReportAsync(failed.Id, false, DateTimeOffset.UtcNow, "Failed: 9999", app.Client, default));

        await app.WaitForPhaseAsync(delivered.Id, WorkflowPhases.Of(Channel.Sms, WorkflowPhases.Confirmed));
        await app.WaitForPhaseAsync(failed.Id, WorkflowPhases.Of(Channel.WhatsApp, WorkflowPhases.Sent));
        Assert.Equal(StatusUpdateOutcome.Unchanged, await app.Verifications.ApplySmsDeliveryReportAsync(delivered.Id, false, DateTimeOffset.UtcNow, null, app.Client, default));
        await Task.Delay(TimeSpan.FromSeconds(4)); // past the SMS wait: the delivered one stays on SMS

        var whatsApp = Assert.Single(app.WhatsApp.Messages);
        Assert.Equal(failed.Id, whatsApp.VerificationId);
        Assert.Equal(VerificationStatus.Pending, (await app.GetAsync(failed.Id)).Status);
        Assert.Equal([(Channel.Sms, "failed"), (Channel.WhatsApp, "sent")], Progress(await app.GetAsync(failed.Id)));
        Assert.Equal([(Channel.Sms, "delivered"), (Channel.WhatsApp, "planned")], Progress(await app.GetAsync(delivered.Id)));
        Assert.Equal("failed", Assert.Single((await app.GetAsync(failed.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover).Reason);
    }

    [Fact]
    public async Task SmsAlone_SendsOnlyTheSms_AndAResendHasNoChannelLeft()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "sms");
        var verification = await StartAsync(app, "+14155550123");

        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);
        Assert.Equal(ChangeOutcome.NoChannelLeft, (await app.Verifications.ResendAsync(verification.Id, app.Client, default)).Outcome);
        Assert.Equal(0, app.WhatsApp.Calls);
        Assert.Equal(1, app.Sms.Calls);
        Assert.Equal([(Channel.Sms, "sent")], Progress(await app.GetAsync(verification.Id)));

        // The last channel's failed report ends the verification: nothing is left to try.
        Assert.Equal(StatusUpdateOutcome.Applied, await app.Verifications.ApplySmsDeliveryReportAsync(verification.Id, false, DateTimeOffset.UtcNow, null, app.Client, default));
        Assert.Equal(VerificationStatus.Failed, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());
    }

    [Fact]
    public async Task WhatsAppAlone_WaitsForTheUserAfterItsTimeout_AndItsFailedStatusEndsTheVerification()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "whatsapp");
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();

        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.Of(Channel.WhatsApp, WorkflowPhases.Sent));
        await Task.Delay(TimeSpan.FromSeconds(4)); // past WhatsApp's delivery wait: there is nothing to move to
        Assert.Equal(0, app.Sms.Calls);
        Assert.Equal(ChangeOutcome.NoChannelLeft, (await app.Verifications.ResendAsync(verification.Id, app.Client, default)).Outcome);
        Assert.Equal(VerificationStatus.Pending, (await app.GetAsync(verification.Id)).Status);

        Assert.Equal(StatusUpdateOutcome.Applied, await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Failed, DateTimeOffset.UtcNow, "131026", app.Client, default));
        Assert.Equal(VerificationStatus.Failed, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());
        Assert.Equal(CheckOutcome.AlreadyEnded, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
        Assert.Equal(0, app.Sms.Calls);
    }

    [Fact]
    public async Task WhatsAppAlone_Refused_EndsTheVerificationFailed_WithoutAnSms()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "whatsapp");
        app.WhatsApp.Respond = (_, _) => ChannelSendResult.Rejected("whatsapp_131026_undeliverable");
        var verification = await StartAsync(app, "+14155550123");

        Assert.Equal(VerificationStatus.Failed, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());
        Assert.Equal(0, app.Sms.Calls);
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal("whatsapp_131026_undeliverable", stored.Timeline[^1].Detail);
        Assert.Equal([(Channel.WhatsApp, "refused")], Progress(stored));
    }

    [Fact]
    public async Task WhatsAppAlone_WhoseSendMayHaveGoneOut_WaitsForTheUser_InsteadOfFailing()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "whatsapp");
        app.WhatsApp.Respond = (_, _) => ChannelSendResult.Unknown("whatsapp_outcome_unknown");
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();

        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.Of(Channel.WhatsApp, WorkflowPhases.OutcomeUnknown));

        Assert.Equal(1, app.WhatsApp.Calls);
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(VerificationStatus.Pending, stored.Status);
        Assert.Equal(VerificationActivities.OutcomeUnknown, Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.WhatsAppSent).Detail);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
    }

    [Fact]
    public async Task ByCountry_ANumbersRegionGetsItsOwnList_OthersTheDefault()
    {
        await using var app = await TestApp.StartAsync(o => o.ChannelsByCountry["us"] = "sms");
        var us = await StartAsync(app, "+14155550123");
        var brazil = await StartAsync(app, "+5511987654321");

        await app.WaitForPhaseAsync(us.Id, WorkflowPhases.SmsSent);
        var whatsApp = await app.WhatsApp.WaitForMessageAsync();

        Assert.Equal(brazil.Id, whatsApp.VerificationId);
        Assert.Equal(us.Id, Assert.Single(app.Sms.Messages).VerificationId);
        Assert.Equal([Channel.Sms], (await app.GetAsync(us.Id)).Plan);
        Assert.Equal([Channel.WhatsApp, Channel.Sms], (await app.GetAsync(brazil.Id)).Plan);
    }

    [Fact]
    public async Task TheStartsOwnList_MayReorderOrDropTheCountrysChannels()
    {
        await using var app = await TestApp.StartAsync(o => o.ChannelsByCountry["US"] = "sms, whatsapp");
        var verification = await StartAsync(app, "+14155550123", [Channel.WhatsApp]);

        await app.WhatsApp.WaitForMessageAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.Of(Channel.WhatsApp, WorkflowPhases.Sent));
        await Task.Delay(TimeSpan.FromSeconds(4));

        Assert.Equal(0, app.Sms.Calls);
        Assert.Equal([Channel.WhatsApp], (await app.GetAsync(verification.Id)).Plan);
    }

    [Fact]
    public async Task TheStartsOwnList_CannotAddAChannelTheCountryIsNotRoutedTo()
    {
        // The operator routed Brazil to WhatsApp only: a caller's channels: ["sms"] must not send SMS there.
        await using var app = await TestApp.StartAsync(o => o.ChannelsByCountry["BR"] = "whatsapp");

        var refused = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", """{"phoneNumber":"+5511987654321","channels":["sms"]}"""), app.Client, default));
        var reordered = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", """{"phoneNumber":"+5511987654322","channels":["sms","whatsapp"]}"""), app.Client, default));

        Assert.Equal(400, refused.Status);
        Assert.Equal("urn:otpfailover:problem:invalid-request", refused.ProblemType);
        Assert.Contains("sms", refused.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(400, reordered.Status);
        Assert.DoesNotContain(await app.RowsAsync(), r => r.RowKey == "verification");
        // Called as a library, the service keeps to the country's channels too.
        var direct = await StartAsync(app, "+5511987654323", [Channel.Sms, Channel.WhatsApp]);
        await app.WhatsApp.WaitForMessageAsync();
        Assert.Equal([Channel.WhatsApp], (await app.GetAsync(direct.Id)).Plan);
        Assert.Equal(0, app.Sms.Calls);
    }

    [Fact]
    public async Task NonGeographicNumbers_HaveTheirOwnList_Under001()
    {
        // +882/+883 numbers (region 001) are a favourite of SMS pumping: an operator can route them too.
        await using var app = await TestApp.StartAsync(o => o.ChannelsByCountry["001"] = "whatsapp");
        var planner = app.Services.GetRequiredService<ChannelPlanner>();

        Assert.Equal([Channel.WhatsApp], planner.For("001", null));
        Assert.Equal([Channel.WhatsApp], planner.For("001", [Channel.Sms, Channel.WhatsApp]));
        Assert.NotNull(planner.Refuse([Channel.Sms], "001"));
        Assert.Equal([Channel.WhatsApp, Channel.Sms], planner.For("US", null));
    }

    [Fact]
    public async Task WithTheSettingOn_TheStartsOwnList_MayNameAnyConfiguredChannel()
    {
        await using var app = await TestApp.StartAsync(o =>
        {
            o.ChannelsByCountry["BR"] = "whatsapp";
            o.AllowChannelsBeyondCountry = true;
        });

        var started = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", """{"phoneNumber":"+5511987654321","channels":["sms"]}"""), app.Client, default));

        Assert.True(started.Status == 202, started.Body);
        await app.Sms.WaitForMessageAsync();
    }

    [Fact]
    public async Task AnSmsFirstThatTheNumbersLimitRefuses_MovesToWhatsApp()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "sms, whatsapp", abuse: a => a.SmsPerNumber = new OtpFailover.Abuse.RateLimitRule(1, TimeSpan.FromHours(1)));
        var first = await StartAsync(app, "+14155550123");
        await app.WaitForPhaseAsync(first.Id, WorkflowPhases.Of(Channel.Sms, WorkflowPhases.AwaitingDelivery));
        await app.Verifications.CancelAsync(first.Id, app.Client, default);

        var second = await StartAsync(app, "+14155550123");

        var whatsApp = await app.WhatsApp.WaitForMessageAsync();
        Assert.Equal(second.Id, whatsApp.VerificationId);
        Assert.Equal(1, app.Sms.Calls);
        var stored = await app.GetAsync(second.Id);
        var failover = Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.Failover);
        Assert.Equal(("send_error", VerificationActivities.SmsRateLimited), (failover.Reason, failover.Detail));
        Assert.Equal(OtpFailover.Functions.Http.ChannelProgressState.Refused, OtpFailover.Functions.Http.ChannelProgress.Of(stored)[0].State);
        Assert.Equal(VerificationActivities.SmsRateLimited, OtpFailover.Functions.Http.ChannelProgress.Of(stored)[0].Detail);
    }

    [Fact]
    public async Task TheApi_TakesAPlanOfConfiguredChannels_AndShowsItsProgress()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "whatsapp, sms");
        var started = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", """{"phoneNumber":"+14155550123","channels":["SMS","whatsapp"]}"""), app.Client, default));
        Assert.True(started.Status == 202, started.Body);
        var id = started.Json.GetProperty("id").GetString()!;
        Assert.Equal("sms", started.Json.GetProperty("channel").GetString());
        await app.WaitForPhaseAsync(id, WorkflowPhases.Of(Channel.Sms, WorkflowPhases.AwaitingDelivery));

        var shown = await ExecuteAsync(await app.Api.GetVerification(Json("GET", $"/api/verifications/{id}"), id, default));

        Assert.Equal(200, shown.Status);
        Assert.Equal("sms", shown.Json.GetProperty("channel").GetString());
        var channels = shown.Json.GetProperty("channels").EnumerateArray().Select(c => (c.GetProperty("channel").GetString(), c.GetProperty("state").GetString())).ToList();
        Assert.Equal([("sms", "sent"), ("whatsapp", "planned")], channels);
    }

    [Theory]
    [InlineData("[\"fax\"]", "'fax' is not a channel")]
    [InlineData("[\"sms\",\"SMS\"]", "sms is listed twice")]
    [InlineData("[]", "at least one channel")]
    [InlineData("[null]", "is not a channel")]
    [InlineData("[\"sms\"]", "not sms")]
    public async Task TheApi_RefusesAPlanItCannotKeep_WithAProblem_AndStartsNothing(string channels, string expected)
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "whatsapp");
        var body = $"{{\"phoneNumber\":\"+14155550123\",\"channels\":{channels}}}";

        var response = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", body), app.Client, default));

        Assert.Equal(400, response.Status);
        Assert.Equal("application/problem+json", response.MediaType);
        Assert.Contains(expected, response.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, app.WhatsApp.Calls + app.Sms.Calls);
    }

    [Fact]
    public async Task SmsThenWhatsApp_AWhatsAppFailure_DoesNotEndAVerificationWhoseSmsWentOut()
    {
        // SMS delivery reports are optional and often late: an SMS sent without a failed report may be in the user's hand.
        await using var app = await TestApp.StartAsync(o => (o.Channels, o.SmsDeliveryTimeout) = ("sms, whatsapp", TimeSpan.FromSeconds(2)));
        var verification = await StartAsync(app, "+14155550123");
        var sms = await app.Sms.WaitForMessageAsync();
        await app.WhatsApp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(15));
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.Of(Channel.WhatsApp, WorkflowPhases.Sent));

        Assert.Equal(StatusUpdateOutcome.Applied, await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Failed, DateTimeOffset.UtcNow, "131026", app.Client, default));

        Assert.Equal(VerificationStatus.Pending, (await app.GetAsync(verification.Id)).Status);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, sms.Code, app.Client, default)).Outcome);
    }

    [Fact]
    public async Task SmsThenWhatsApp_AWhatsAppRefusal_DoesNotEndAVerificationWhoseSmsWentOut()
    {
        await using var app = await TestApp.StartAsync(o => (o.Channels, o.SmsDeliveryTimeout) = ("sms, whatsapp", TimeSpan.FromSeconds(2)));
        app.WhatsApp.Respond = (_, _) => ChannelSendResult.Rejected("whatsapp_circuit_open");
        var verification = await StartAsync(app, "+14155550123");
        var sms = await app.Sms.WaitForMessageAsync();
        await app.WhatsApp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(15));
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.Of(Channel.WhatsApp, WorkflowPhases.Failed));

        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(VerificationStatus.Pending, stored.Status);
        Assert.Equal("whatsapp_circuit_open", Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.WhatsAppFailed).Detail);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, sms.Code, app.Client, default)).Outcome);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SmsThenWhatsApp_WhenTheSmsIsReportedFailedAfterWhatsAppFailed_TheVerificationEndsFailed(bool whatsAppRefuses)
    {
        // Pending while the SMS may be in the user's hand; failed as soon as its report says it is not.
        await using var app = await TestApp.StartAsync(o => (o.Channels, o.SmsDeliveryTimeout) = ("sms, whatsapp", TimeSpan.FromSeconds(2)));
        if (whatsAppRefuses)
        {
            app.WhatsApp.Respond = (_, _) => ChannelSendResult.Rejected("whatsapp_circuit_open");
        }

        var verification = await StartAsync(app, "+14155550123");
        await app.WhatsApp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(15));
        if (whatsAppRefuses)
        {
            await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.Of(Channel.WhatsApp, WorkflowPhases.Failed));
        }
        else
        {
            await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.Of(Channel.WhatsApp, WorkflowPhases.Sent));
            Assert.Equal(StatusUpdateOutcome.Applied, await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Failed, DateTimeOffset.UtcNow, "131026", app.Client, default));
        }

        Assert.Equal(VerificationStatus.Pending, (await app.GetAsync(verification.Id)).Status);
        Assert.Equal(StatusUpdateOutcome.Applied, await app.Verifications.ApplySmsDeliveryReportAsync(verification.Id, false, DateTimeOffset.UtcNow, "Failed: 9999", app.Client, default));

        Assert.Equal(VerificationStatus.Failed, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());
        Assert.Equal(VerificationService.NoChannelDelivered, (await app.GetAsync(verification.Id)).Timeline[^1].Detail);
    }

    [Fact]
    public async Task ADeferredLastChannel_IsNotSent_WhenThePreviousChannelConfirmsMeanwhile()
    {
        // ACS refuses for now; WhatsApp's delivery, late after its timeout, comes before ACS is back: no paid duplicate.
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(2));
        var acsBack = false;
        app.Sms.Respond = (_, _) => Volatile.Read(ref acsBack) ? ChannelSendResult.Accepted("sms-1") : ChannelSendResult.Rejected("sms_http_503") with { TryAgainAfter = TimeSpan.FromSeconds(30) };
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsDeferred);
        Volatile.Write(ref acsBack, true);

        Assert.Equal(StatusUpdateOutcome.Applied, await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default));

        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.WhatsAppConfirmed);
        Assert.DoesNotContain((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.SmsSent);
        Assert.Equal(1, app.Sms.Calls); // the one ACS refused
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
    }

    [Fact]
    public async Task WhatsAppThenSms_AnSmsRefusal_AfterAnUnconfirmedWhatsApp_StillEndsFailed()
    {
        // WhatsApp reports delivery reliably: sent but not delivered within its wait does not count as in the user's hand.
        await using var app = await TestApp.StartAsync();
        app.Sms.Respond = (_, _) => ChannelSendResult.Rejected("sms_invalid_number", refusesRequest: true);
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();

        Assert.Equal(VerificationStatus.Failed, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());
    }

    [Fact]
    public async Task SmsFirst_AnSmsProviderRefusingForNow_MovesToWhatsAppAtOnce_InsteadOfWaitingOnIt()
    {
        await using var app = await TestApp.StartAsync(o => (o.Channels, o.SmsDeliveryTimeout) = ("sms, whatsapp", TimeSpan.FromSeconds(30)));
        app.Sms.Respond = (_, _) => ChannelSendResult.Rejected("sms_http_503") with { TryAgainAfter = TimeSpan.FromSeconds(2) };
        var verification = await StartAsync(app, "+14155550123");

        var whatsApp = await app.WhatsApp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(10));

        Assert.Equal(verification.Id, whatsApp.VerificationId);
        Assert.Equal(1, app.Sms.Calls);
        var stored = await app.GetAsync(verification.Id);
        var failover = Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.Failover);
        Assert.Equal(("send_error", "sms_http_503"), (failover.Reason, failover.Detail));
        Assert.DoesNotContain(stored.Timeline, e => e.Type == TimelineEventTypes.SmsDeferred);
        Assert.Equal(OtpFailover.Functions.Http.ChannelProgressState.Refused, OtpFailover.Functions.Http.ChannelProgress.Of(stored)[0].State);
    }

    [Fact]
    public async Task AWhatsAppFailure_BetweenTheSmsStepsTwoWrites_NeitherEndsTheVerification_NorLetsAnEndedOneSend()
    {
        TestApp app = null!;
        var between = new BetweenTheSmsStepsWrites(async id => Assert.Equal(StatusUpdateOutcome.Applied, await app.Verifications.ApplyWhatsAppStatusAsync(id, DeliveryStatus.Failed, DateTimeOffset.UtcNow, "131026", app.Client, default)));
        app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(2), services: s => s.AddSingleton(StorageFaults.Client(between.Faults)));
        await using var _ = app;
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        between.VerificationId = verification.Id;

        await app.Sms.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20));
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);

        Assert.True(between.Ran);
        var stored = await app.GetAsync(verification.Id);
        Assert.True(stored.Status == VerificationStatus.Pending, $"{stored.Status}: {string.Join(", ", stored.Timeline.Select(e => e.Type + "/" + e.Detail))}");
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
    }

    [Fact]
    public async Task AnSmsStep_ForAVerificationCanceledAfterItsAllowance_SendsNothing_AndGivesTheAllowanceBack()
    {
        TestApp app = null!;
        var between = new BetweenTheSmsStepsWrites(async id => Assert.Equal(ChangeOutcome.Done, (await app.Verifications.CancelAsync(id, app.Client, default)).Outcome));
        app = await TestApp.StartAsync(o => o.Channels = "sms", services: s => s.AddSingleton(StorageFaults.Client(between.Faults)), abuse: a => a.SmsPerNumber = new OtpFailover.Abuse.RateLimitRule(1, TimeSpan.FromHours(1)));
        await using var _ = app;
        var canceled = await StartAsync(app, "+14155550123");
        between.VerificationId = canceled.Id;

        Assert.Equal(VerificationStatus.Canceled, (await app.WaitForCompletionAsync(canceled.Id)).ReadOutputAs<VerificationStatus>());
        Assert.True(between.Ran);
        Assert.Equal(0, app.Sms.Calls);
        Assert.Equal([(Channel.Sms, "planned")], Progress(await app.GetAsync(canceled.Id))); // not "sending" forever

        // The allowance was given back: the number's one SMS of the hour is still there for its next verification.
        var next = await StartAsync(app, "+14155550123");
        await app.WaitForPhaseAsync(next.Id, WorkflowPhases.SmsSent);
        Assert.Equal(next.Id, Assert.Single(app.Sms.Messages).VerificationId);
    }

    [Fact]
    public async Task TwoRunsOfOneSmsStep_WhereTheOtherSentAndTheCodeWasApproved_LeaveTheSmsCountedForTheNumber()
    {
        // A duplicate run (a lost lease) takes the allowance too, then finds the verification approved: the SMS the
        // other run sent must stay counted against the number.
        TestApp app = null!;
        SendCodeRequest request = null!;
        var between = new BetweenTheSmsStepsWrites(async id =>
        {
            Assert.True((await app.Activities.SendCodeAsync(request, default)).Sent);
            Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(id, app.Sms.Messages[0].Code, app.Client, default)).Outcome);
        });
        app = await TestApp.StartAsync(services: s => s.AddSingleton(StorageFaults.Client(between.Faults)), abuse: a => a.SmsPerNumber = new OtpFailover.Abuse.RateLimitRule(1, TimeSpan.FromHours(1)));
        await using var _ = app;
        var id = await TestRows.InsertBareAsync(app, "+14155550123", DateTimeOffset.UtcNow);
        request = new SendCodeRequest(id, Channel.Sms);
        between.VerificationId = id;

        var duplicate = await app.Activities.SendCodeAsync(request, default);

        Assert.True(between.Ran);
        Assert.Equal((false, VerificationStatus.Approved), (duplicate.Sent, duplicate.Status));
        Assert.Equal(1, app.Sms.Calls);
        var row = (await app.Store.FindAsync(id))!;
        var limit = await app.Services.GetRequiredService<OtpFailover.Abuse.SmsAllowance>().CheckSmsAsync(row.PhoneIndex, row.RegionCode, default);
        Assert.False(limit.Allowed, "the number's one SMS of the hour was given back, though it went out");
    }

    [Fact]
    public async Task ARowFromBeforePlans_HasNoChannelLeftForAResend()
    {
        // Its orchestration ran in the old hub: nothing would act on a resend.
        await using var app = await TestApp.StartAsync();
        var id = await TestRows.InsertBareAsync(app, "+14155550123", DateTimeOffset.UtcNow);
        // As a row of 1.2 reads: no plan, no channel sends, the WhatsApp columns of a verification waiting on WhatsApp.
        await app.Table.UpdateEntityAsync(new TableEntity(id, "verification") { ["WhatsAppStatus"] = "Sent", ["WhatsAppMessageId"] = "wamid.old" }, Azure.ETag.All, TableUpdateMode.Merge);

        Assert.Equal(ChangeOutcome.NoChannelLeft, (await app.Verifications.ResendAsync(id, app.Client, default)).Outcome);
        Assert.Equal([(Channel.WhatsApp, "planned"), (Channel.Sms, "planned")], Progress(await app.GetAsync(id)));
    }

    /// <summary>
    /// Runs an action once, just before the SMS step's second write (the one that stores its repeatability pair),
    /// that is, between the write that records the move to SMS and the send.
    /// </summary>
    private sealed class BetweenTheSmsStepsWrites
    {
        private int _ran;

        /// <summary>
        /// Runs <paramref name="meanwhile"/> once, before the SMS step's first write that holds a repeatability pair
        /// (the one that records its allowance, before the send). The test names the verification once its start returned, which a busy
        /// machine's workflow may outrun: the first such write of the test's only verification waits for the name.
        /// </summary>
        public BetweenTheSmsStepsWrites(Func<string, Task> meanwhile) =>
            Faults.BeforeConditionalWrite = request =>
                request.Contains("repeatabilityRequestId", StringComparison.Ordinal)
                && (VerificationId is not { } known || request.Contains(known, StringComparison.Ordinal)) && Interlocked.Exchange(ref _ran, 1) == 0
                    ? async () =>
                    {
                        await Eventually.WaitUntilAsync(() => VerificationId is not null, TimeSpan.FromSeconds(30), "the test to name its verification");
                        Assert.Contains(VerificationId!, request, StringComparison.Ordinal);
                        await meanwhile(VerificationId!);
                    }
                    : null;

        public StorageFaults Faults { get; } = new();

        public string? VerificationId { get; set; }

        public bool Ran => Volatile.Read(ref _ran) == 1;
    }
}
