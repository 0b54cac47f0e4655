using Microsoft.Extensions.Logging;
using OtpFailover.Abuse;
using OtpFailover.Channels;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Abuse;

/// <summary>
/// SMS pumping, tried as an attacker would: numbers that are not on WhatsApp (131026) get an SMS at once, so every
/// start costs an SMS unless the limits hold. They must hold exactly, across parallel requests, in Table Storage.
/// </summary>
public sealed class SmsPumpingTests
{
    private static void NotOnWhatsApp(TestApp app) =>
        app.WhatsApp.Respond = (_, _) => ChannelSendResult.Rejected("whatsapp_131026_undeliverable");

    [Fact]
    public async Task StartCancelStart_ToANumberNotOnWhatsApp_SendsExactlyTheSmsLimit_ThenIsRefusedWithRetryAfter()
    {
        await using var app = await TestApp.StartAsync(abuse: a =>
        {
            a.SmsPerNumber = new(3, TimeSpan.FromHours(1));
            a.StartsPerNumber = new(5, TimeSpan.FromMinutes(15));
        });
        NotOnWhatsApp(app);
        var ended = new List<Verification>();

        StartResult attempt;
        var cycles = 0;
        while ((attempt = await app.TryStartAsync("+4915112345678")).Outcome == StartOutcome.Started)
        {
            cycles++;
            var id = attempt.Verification!.Id;
            await Eventually.WaitUntilAsync(
                async () => (await app.GetAsync(id)) is { } v && (v.SendOn(Channel.Sms)?.MessageId is not null || v.Status != VerificationStatus.Pending),
                TestApp.FlowTimeout,
                $"verification {id} to send its SMS or end");
            await app.Verifications.CancelAsync(id, app.Client, default);
            ended.Add(await app.GetAsync(id));
            Assert.True(cycles <= 10, "the limits never refused a start");
        }

        Assert.Equal(5, cycles);
        Assert.Equal(3, app.Sms.Calls);
        Assert.Equal(StartOutcome.RateLimited, attempt.Outcome);
        Assert.Equal(LimitKind.StartsPerNumber, attempt.Limit!.Limit);
        Assert.InRange(attempt.Limit.RetryAfter, TimeSpan.FromMinutes(14), TimeSpan.FromMinutes(15));

        // The starts past the SMS limit ended failed, with the reason, and sent nothing.
        var overLimit = ended.Skip(3).ToList();
        Assert.All(overLimit, v =>
        {
            Assert.Equal(VerificationStatus.Failed, v.Status);
            Assert.Equal(VerificationActivities.SmsRateLimited, v.Timeline.Single(e => e.Type == TimelineEventTypes.Failed).Detail);
        });
    }

    [Fact]
    public async Task TheCountrysSmsBudget_TripsAtItsCap_UnderParallelStartsAcrossManyNumbers_AndTellsTheOperatorOnce()
    {
        await using var app = await TestApp.StartAsync(abuse: a =>
        {
            a.SmsPerCountryPerHour = 1000;
            a.SmsPerCountryPerHourByCountry["DE"] = 6;
        });
        NotOnWhatsApp(app);
        var numbers = Enumerable.Range(0, 14).Select(i => $"+49151123456{i:00}").ToList();

        var started = await Task.WhenAll(numbers.Select(n => Task.Run(() => app.StartAsync(n))));
        var finals = await Task.WhenAll(started.Select(async v =>
        {
            await Eventually.WaitUntilAsync(
                async () => (await app.GetAsync(v.Id)) is { } s && (s.SendOn(Channel.Sms)?.MessageId is not null || s.Status != VerificationStatus.Pending),
                TestApp.FlowTimeout,
                $"verification {v.Id} to send its SMS or end");
            return await app.GetAsync(v.Id);
        }));

        Assert.Equal(6, app.Sms.Calls);
        Assert.Equal(6, finals.Count(v => v.SendOn(Channel.Sms)?.MessageId is not null));
        var refused = finals.Where(v => v.SendOn(Channel.Sms)?.MessageId is null).ToList();
        Assert.Equal(8, refused.Count);
        Assert.All(refused, v =>
        {
            Assert.Equal(VerificationStatus.Failed, v.Status);
            Assert.Equal(VerificationActivities.SmsBudgetExceeded, v.Timeline.Single(e => e.Type == TimelineEventTypes.Failed).Detail);
        });
        var alerts = app.Logs.GetSnapshot().Where(r => r.Level == LogLevel.Error && r.Message.Contains("SMS budget for DE", StringComparison.Ordinal)).ToList();
        Assert.Single(alerts);

        // Another region is not affected.
        var us = await app.StartAsync("+14155550123");
        await app.Sms.WaitForMessageAsync(7);
        Assert.Equal(us.Id, app.Sms.Messages[6].VerificationId);
    }

    [Fact]
    public async Task WrongCodesAcrossVerifications_StopAtTheNumbersLimit_ThenChecksAndStartsAreRefused()
    {
        await using var app = await TestApp.StartAsync(
            o => (o.MaxCheckAttempts, o.WhatsAppDeliveryTimeout) = (5, TimeSpan.FromSeconds(25)),
            abuse: a => a.FailedChecksPerNumber = new(7, TimeSpan.FromHours(24)));
        var (first, firstCode) = await app.StartAndAwaitWhatsAppAsync("+4915112345678");
        for (var i = 0; i < 5; i++)
        {
            await app.Verifications.CheckAsync(first.Id, Wrong(firstCode), app.Client, default);
        }

        var (second, secondCode) = await app.StartAndAwaitWhatsAppAsync("+4915112345678");
        Assert.Equal(CheckOutcome.Incorrect, (await app.Verifications.CheckAsync(second.Id, Wrong(secondCode), app.Client, default)).Outcome);
        Assert.Equal(CheckOutcome.Incorrect, (await app.Verifications.CheckAsync(second.Id, Wrong(secondCode), app.Client, default)).Outcome);

        // Seven wrong codes: the next check is refused whatever the code (a different answer would tell a guesser).
        var wrong = await app.Verifications.CheckAsync(second.Id, Wrong(secondCode), app.Client, default);
        var right = await app.Verifications.CheckAsync(second.Id, secondCode, app.Client, default);
        var start = await app.TryStartAsync("+4915112345678");

        Assert.Equal(CheckOutcome.RateLimited, wrong.Outcome);
        Assert.Equal(CheckOutcome.RateLimited, right.Outcome);
        Assert.Equal(LimitKind.FailedChecksPerNumber, right.Limit!.Limit);
        Assert.Equal(2, (await app.GetAsync(second.Id)).AttemptsUsed);
        Assert.Equal(VerificationStatus.Pending, (await app.GetAsync(second.Id)).Status);
        Assert.Equal(StartOutcome.RateLimited, start.Outcome);
        Assert.Equal(LimitKind.FailedChecksPerNumber, start.Limit!.Limit);
    }

    private static string Wrong(string code) => code == "000000" ? "111111" : "000000";
}
