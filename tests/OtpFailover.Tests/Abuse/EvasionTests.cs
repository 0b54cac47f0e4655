using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Abuse;
using OtpFailover.Channels;
using OtpFailover.Tests.Http;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.Workflow;
using static OtpFailover.Tests.Http.HttpTestRequests;

namespace OtpFailover.Tests.Abuse;

/// <summary>The ways around the limits an attacker review found, each closed: bursts, fresh keys, shared keys, satellites.</summary>
public sealed class EvasionTests
{
    private static string Wrong(string code, int n) => ((int.Parse(code, System.Globalization.CultureInfo.InvariantCulture) + n) % 1_000_000).ToString("000000", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task ABurstOfParallelGuesses_GetsNoMoreGuessesThanTheNumberHasLeft_RightCodeIncluded()
    {
        await using var app = await TestApp.StartAsync(
            o => (o.WhatsAppDeliveryTimeout, o.MaxCheckAttempts) = (TimeSpan.FromSeconds(25), 20),
            abuse: a => a.FailedChecksPerNumber = new(3, TimeSpan.FromHours(24)));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync("+4915112345678");
        Assert.Equal(CheckOutcome.Incorrect, (await app.Verifications.CheckAsync(verification.Id, Wrong(code, 1), app.Client, default)).Outcome);
        Assert.Equal(CheckOutcome.Incorrect, (await app.Verifications.CheckAsync(verification.Id, Wrong(code, 2), app.Client, default)).Outcome);

        // One guess is left. Forty checks race for it, the right code among them.
        var guesses = Enumerable.Range(3, 39).Select(n => Wrong(code, n)).Append(code).ToList();
        var results = await Task.WhenAll(guesses.Select(guess => Task.Run(() => app.Verifications.CheckAsync(verification.Id, guess, app.Client, default))));

        var judged = results.Count(r => r.Outcome is CheckOutcome.Incorrect or CheckOutcome.Approved or CheckOutcome.MaxAttemptsReached);
        Assert.True(judged <= 1, $"{judged} guesses were judged with one left: {string.Join(", ", results.GroupBy(r => r.Outcome).Select(g => $"{g.Key} {g.Count()}"))}");
        Assert.All(results.Where(r => r.Outcome is not (CheckOutcome.Incorrect or CheckOutcome.Approved or CheckOutcome.MaxAttemptsReached)), r => Assert.True(r.Outcome is CheckOutcome.RateLimited or CheckOutcome.AlreadyEnded, r.Outcome.ToString()));
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(results.Count(r => r.Outcome == CheckOutcome.Incorrect) + 2, stored.AttemptsUsed);
    }

    [Fact]
    public async Task ARightCode_TakesNothingFromTheNumbersBudget_SoItCountsOnlyWrongCodes()
    {
        await using var app = await TestApp.StartAsync(
            o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25),
            abuse: a => a.FailedChecksPerNumber = new(1, TimeSpan.FromHours(24)));

        for (var i = 0; i < 3; i++)
        {
            var (verification, code) = await app.StartAndAwaitWhatsAppAsync("+4915112345678");
            Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
        }
    }

    [Fact]
    public async Task ARightCode_IsRefused_WhileWrongCodesOnTheirWayHaveSpentTheNumbersBudget()
    {
        // A burst of guesses, the right one among them: the wrong ones take the budget's last places on the number's
        // row and have not reached the verification's row yet. The right code must not slip through on the row's
        // count alone, or a burst of any size would be judged, and the different answers would say which guess won.
        await using var app = await TestApp.StartAsync(
            o => (o.WhatsAppDeliveryTimeout, o.MaxCheckAttempts) = (TimeSpan.FromSeconds(25), 20),
            abuse: a => a.FailedChecksPerNumber = new(2, TimeSpan.FromHours(24)));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync("+4915112345678");
        var phoneIndex = (await app.Store.FindAsync(verification.Id))!.PhoneIndex;
        var limits = app.Services.GetRequiredService<WrongCodeBudget>();
        Assert.True((await limits.TryRecordFailedCheckAsync(phoneIndex, "in-flight-1", default)).Allowed);
        Assert.True((await limits.TryRecordFailedCheckAsync(phoneIndex, "in-flight-2", default)).Allowed);

        var wrong = await app.Verifications.CheckAsync(verification.Id, Wrong(code, 1), app.Client, default);
        var right = await app.Verifications.CheckAsync(verification.Id, code, app.Client, default);

        Assert.Equal(CheckOutcome.RateLimited, wrong.Outcome);
        Assert.Equal(CheckOutcome.RateLimited, right.Outcome);
        Assert.True(right.Limit!.RetryAfter > TimeSpan.Zero);
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(VerificationStatus.Pending, stored.Status);
        Assert.Equal(0, stored.AttemptsUsed);
    }

    [Fact]
    public async Task AnIdempotencyKey_FromAnotherClient_IsAnotherKey_AndHandsNothingOut()
    {
        await using var app = await TestApp.StartAsync();
        const string key = "shared-key-1234-5678";
        var victim = await app.TryStartAsync("+4915112345678", "victim-session", ["key:session-victim"], key);

        var attacker = await app.TryStartAsync("+49 151 1234 5678", "attacker-session", ["key:session-attacker"], key);
        var victimAgain = await app.TryStartAsync("+4915112345678", "victim-session", ["key:session-victim"], key);

        Assert.Equal(StartOutcome.Started, victim.Outcome);
        Assert.Equal(StartOutcome.Started, attacker.Outcome);
        Assert.NotEqual(victim.Verification!.Id, attacker.Verification!.Id);
        Assert.Equal(StartOutcome.Replayed, victimAgain.Outcome);
        Assert.Equal(victim.Verification.Id, victimAgain.Verification!.Id);
    }

    [Theory]
    [InlineData("+870 773 111 632")]
    [InlineData("+881 612 345 678")]
    public async Task NonGeographicNumbers_AreRefusedUnlessAllowedByName(string number)
    {
        await using var refusing = await TestApp.StartAsync();
        await using var allowing = await TestApp.StartAsync(abuse: a => a.AllowedCountries = "001, DE");
        await using var blocking = await TestApp.StartAsync(abuse: a => a.BlockedCountries = "001");
        var body = $$"""{"phoneNumber":"{{number}}"}""";

        var refused = await ExecuteAsync(await refusing.Api.StartVerification(Json("POST", "/", body), refusing.Client, default));
        var allowed = await ExecuteAsync(await allowing.Api.StartVerification(Json("POST", "/", body), allowing.Client, default));
        var blocked = await ExecuteAsync(await blocking.Api.StartVerification(Json("POST", "/", body), blocking.Client, default));

        Assert.Equal(403, refused.Status);
        Assert.Equal("001", refused.Json.GetProperty("country").GetString());
        Assert.Equal(202, allowed.Status);
        Assert.Equal(403, blocked.Status);
    }

    [Fact]
    public async Task AFloodOfRefusedStarts_WritesNoRow_AndTakesNothingFromTheNumbersItNames()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25), abuse: a => a.StartsPerClient = new(1, TimeSpan.FromHours(1)));
        var first = await app.TryStartAsync("+4915112345600", clientSubjects: ["ip:203.0.113.7"]);
        Assert.Equal(StartOutcome.Started, first.Outcome);
        await app.WaitForPhaseAsync(first.Verification!.Id, WorkflowPhases.AwaitingWhatsAppDelivery);
        var before = (await app.RowsAsync()).Count;

        for (var i = 1; i <= 20; i++)
        {
            var refused = await app.TryStartAsync($"+49151123456{i:00}", clientSubjects: ["ip:203.0.113.7"]);
            Assert.Equal(StartOutcome.RateLimited, refused.Outcome);
        }

        Assert.Equal(before, (await app.RowsAsync()).Count);
    }

    [Fact]
    public async Task ACountryOverrideOfZero_SendsNoSmsThere()
    {
        await using var app = await TestApp.StartAsync(abuse: a => a.SmsPerCountryPerHourByCountry["DE"] = 0);
        app.WhatsApp.Respond = (_, _) => ChannelSendResult.Rejected("whatsapp_131026_undeliverable");

        var verification = await app.StartAsync("+4915112345678");

        Assert.Equal(VerificationStatus.Failed, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());
        Assert.Equal(0, app.Sms.Calls);
        Assert.Equal(VerificationActivities.SmsBudgetExceeded, (await app.GetAsync(verification.Id)).Timeline[^1].Detail);
    }
}
