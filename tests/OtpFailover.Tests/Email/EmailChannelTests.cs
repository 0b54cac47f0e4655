using OtpFailover.Channels;
using OtpFailover.EmailAddresses;
using OtpFailover.PhoneNumbers;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Tests.Sms;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Email;

/// <summary>Email as an ordinary entry of the channel plan, on the durable engine, with nothing in the workflow for it.</summary>
public sealed class EmailChannelTests
{
    private const string Address = "Ana.Silva@Example.com";

    private static async Task<Verification> StartAsync(TestApp app, string phoneNumber, string? email = Address, IReadOnlyList<Channel>? channels = null)
    {
        Assert.True(PhoneNumber.TryParse(phoneNumber, out var number));
        EmailAddress? address = null;
        Assert.True(email is null || EmailAddress.TryParse(email, out address));
        var result = await app.Verifications.StartAsync(new StartRequest(number, Channels: channels, Email: address), app.Client, default);
        Assert.Equal(StartOutcome.Started, result.Outcome);
        return result.Verification!;
    }

    [Fact]
    public async Task SmsThenEmail_TheSmsRefused_SendsTheSameCodeByEmail_AndItsDeliveredReportLetsTheUserIn()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "sms, email");
        app.Sms.Respond = (_, _) => ChannelSendResult.Rejected("sms_http_400", refusesRequest: true);
        var verification = await StartAsync(app, "+14155550123");

        var email = await app.Email.WaitForMessageAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.Of(Channel.Email, WorkflowPhases.Sent));

        Assert.Equal(verification.Id, email.VerificationId);
        Assert.Equal("ana.silva@example.com", email.To.Value);
        Assert.Equal("a•••@example.com", verification.MaskedEmail);
        Assert.Equal(StatusUpdateOutcome.Applied, await app.Verifications.ApplyDeliveryAsync(verification.Id, Channel.Email, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default));
        var check = await app.Verifications.CheckAsync(verification.Id, email.Code, app.Client, default);
        Assert.Equal(CheckOutcome.Approved, check.Outcome);
        var stored = await app.GetAsync(verification.Id);
        Assert.Contains(stored.Timeline, e => e is { Type: TimelineEventTypes.Failover, Channel: Channel.Email });
        Assert.Contains(stored.Timeline, e => e.Type == "email.delivered");
        Assert.Equal("email", Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.Approved).Detail);
    }

    [Fact]
    public async Task EmailThenSms_ABounce_FailsTheEmail_AndMovesToSmsAtOnce()
    {
        await using var app = await TestApp.StartAsync(o => (o.Channels, o.EmailDeliveryTimeout) = ("email, sms", TimeSpan.FromMinutes(5)));
        var verification = await StartAsync(app, "+14155550123");
        var email = await app.Email.WaitForMessageAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.Of(Channel.Email, WorkflowPhases.AwaitingDelivery));

        // The report comes through the Event Grid webhook the SMS reports use, and finds the verification by the operation id.
        var report = EventGridEvents.EmailDeliveryReport(email.OperationId.ToString(), "Bounced");
        var answer = await app.SmsDeliveryReports.NotifyAsync(report, TestSecrets.SmsWebhookKey, app.Client, default);
        var sms = await app.Sms.WaitForMessageAsync();

        Assert.Equal(1, answer.Summary!.Applied);
        Assert.Equal(email.Code, sms.Code);
        var failover = Assert.Single((await app.GetAsync(verification.Id)).Timeline, e => e.Type == TimelineEventTypes.Failover);
        Assert.Equal(("failed", Channel.Sms), (failover.Reason, failover.Channel));
        Assert.Contains((await app.GetAsync(verification.Id)).Timeline, e => e is { Type: "email.failed", Detail: "Bounced" });
    }

    [Fact]
    public async Task ABounceOfTheLastChannel_WhenNoOtherChannelSentTheCode_EndsTheVerificationFailed()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "sms, email");
        app.Sms.Respond = (_, _) => ChannelSendResult.Rejected("sms_http_400", refusesRequest: true);
        var verification = await StartAsync(app, "+14155550123");
        var email = await app.Email.WaitForMessageAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.Of(Channel.Email, WorkflowPhases.Sent));

        await app.Verifications.ApplyDeliveryAsync(verification.Id, Channel.Email, DeliveryStatus.Failed, DateTimeOffset.UtcNow, "Bounced", app.Client, default);

        Assert.Equal(VerificationStatus.Failed, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());
        Assert.Equal(DeliveryRules.NoChannelDelivered, (await app.GetAsync(verification.Id)).Timeline[^1].Detail);
    }

    [Fact]
    public async Task AStartWithoutAnEmail_IsNeverPlannedOnEmail()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "email, sms");
        var verification = await StartAsync(app, "+14155550123", email: null);

        await app.Sms.WaitForMessageAsync();

        Assert.Equal([Channel.Sms], (await app.GetAsync(verification.Id)).Plan);
        Assert.Equal(0, app.Email.Calls);
        Assert.Null(verification.MaskedEmail);
    }

    [Fact]
    public async Task TwentyStartsForOneAddress_OnDifferentNumbers_SendExactlyTheAddresssLimit()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "email", abuse: a => a.EmailPerAddress = new(3, TimeSpan.FromHours(1)));

        var verifications = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => StartAsync(app, $"+1415555{i:0000}", email: i % 2 == 0 ? Address : Address.ToUpperInvariant())));
        await Eventually.WaitUntilAsync(
            async () => (await Task.WhenAll(verifications.Select(v => app.GetAsync(v.Id)))).All(v => v.Status == VerificationStatus.Failed || v.SendOn(Channel.Email)?.State == ChannelSendState.Sent),
            TestApp.FlowTimeout,
            "every start to send its email or be refused");

        Assert.Equal(3, app.Email.Calls);
        var refused = 0;
        foreach (var verification in verifications)
        {
            var stored = await app.GetAsync(verification.Id);
            if (stored.Status == VerificationStatus.Failed)
            {
                refused++;
                Assert.Equal("email_rate_limited", stored.Timeline[^1].Detail);
            }
        }

        Assert.Equal(17, refused);
    }

    [Fact]
    public async Task ABounce_OfAnEmailWhoseAnswersWereAllLost_StillFindsItsVerification_AndMovesOn()
    {
        // Every attempt's answer lost: the send's outcome is unknown and no message id came back. The report names
        // the email by the operation id the app chose, which is indexed before the email is sent.
        await using var app = await TestApp.StartAsync(o => (o.Channels, o.EmailDeliveryTimeout) = ("email, sms", TimeSpan.FromMinutes(5)));
        app.Email.Respond = (_, _) => ChannelSendResult.Unknown("email_unreachable");
        var verification = await StartAsync(app, "+14155550123");
        var email = await app.Email.WaitForMessageAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.Of(Channel.Email, WorkflowPhases.AwaitingDelivery));

        var answer = await app.SmsDeliveryReports.NotifyAsync(EventGridEvents.EmailDeliveryReport(email.OperationId.ToString().ToUpperInvariant(), "Bounced"), TestSecrets.SmsWebhookKey, app.Client, default);
        await app.Sms.WaitForMessageAsync();

        Assert.Equal(1, answer.Summary!.Applied);
    }

    [Fact]
    public async Task AStatusACSMayAddLater_ChangesNothing()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "sms, email");
        app.Sms.Respond = (_, _) => ChannelSendResult.Rejected("sms_http_400", refusesRequest: true);
        var verification = await StartAsync(app, "+14155550123");
        var email = await app.Email.WaitForMessageAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.Of(Channel.Email, WorkflowPhases.Sent));

        var answer = await app.SmsDeliveryReports.NotifyAsync(EventGridEvents.EmailDeliveryReport(email.OperationId.ToString(), "SomethingNew"), TestSecrets.SmsWebhookKey, app.Client, default);

        Assert.Equal((0, 0), (answer.Summary!.Applied, answer.Summary.Unknown));
        Assert.Equal(VerificationStatus.Pending, (await app.GetAsync(verification.Id)).Status);
    }

    [Fact]
    public async Task TwentyStartsForVariantsOfOneMailbox_SendExactlyItsLimit()
    {
        // Sub-addresses, and for Gmail dots and googlemail.com, reach one inbox: they count as one.
        await using var app = await TestApp.StartAsync(o => o.Channels = "email", abuse: a => a.EmailPerAddress = new(3, TimeSpan.FromHours(1)));
        string[] variants = ["victim@gmail.com", "victim+1@gmail.com", "v.ictim@gmail.com", "Victim+x@googlemail.com"];

        var verifications = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => StartAsync(app, $"+1415555{i:0000}", email: variants[i % variants.Length])));
        await Eventually.WaitUntilAsync(
            async () => (await Task.WhenAll(verifications.Select(v => app.GetAsync(v.Id)))).All(v => v.Status == VerificationStatus.Failed || v.SendOn(Channel.Email)?.State == ChannelSendState.Sent),
            TestApp.FlowTimeout,
            "every start to send its email or be refused");

        Assert.Equal(3, app.Email.Calls);
    }
}
