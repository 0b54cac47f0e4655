using Microsoft.Extensions.Time.Testing;
using OtpFailover.PhoneNumbers;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;

namespace OtpFailover.Tests.Verifications;

/// <summary>Parallel requests against Table Storage: attempts are counted exactly, one verification per number.</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task TwentyParallelWrongChecks_AgainstALimitOfFive_CountExactlyFive_AndTheRightCodeIsRefusedAfter()
    {
        await using var app = await TestApp.StartAsync(o => o.MaxCheckAttempts = 5);
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        var wrong = code == "999999" ? "888888" : "999999";

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => app.Verifications.CheckAsync(verification.Id, wrong, app.Client, default))));

        Assert.Equal(4, results.Count(r => r.Outcome == CheckOutcome.Incorrect));
        Assert.Equal(1, results.Count(r => r.Outcome == CheckOutcome.MaxAttemptsReached));
        Assert.Equal(15, results.Count(r => r.Outcome == CheckOutcome.AlreadyEnded));
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(5, stored.AttemptsUsed);
        Assert.Equal(VerificationStatus.MaxAttemptsReached, stored.Status);
        Assert.Equal(5, stored.Timeline.Count(e => e.Type == TimelineEventTypes.CheckFailed));

        var right = await app.Verifications.CheckAsync(verification.Id, code, app.Client, default);
        Assert.Equal(CheckOutcome.AlreadyEnded, right.Outcome);
        Assert.Equal(VerificationStatus.MaxAttemptsReached, (await app.GetAsync(verification.Id)).Status);
    }

    [Fact]
    public async Task ParallelRightAndWrongChecks_ApproveOnce_AndCountOnlyTheWrongOnesBeforeIt()
    {
        await using var app = await TestApp.StartAsync(o => o.MaxCheckAttempts = 20);
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        var wrong = code == "999999" ? "888888" : "999999";

        var checks = Enumerable.Range(0, 10).Select(i => i == 5 ? code : wrong);
        var results = await Task.WhenAll(checks.Select(c => Task.Run(() => app.Verifications.CheckAsync(verification.Id, c, app.Client, default))));

        Assert.Equal(1, results.Count(r => r.Outcome == CheckOutcome.Approved));
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(VerificationStatus.Approved, stored.Status);
        Assert.Equal(results.Count(r => r.Outcome == CheckOutcome.Incorrect), stored.AttemptsUsed);
        Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.Approved);
    }

    [Fact]
    public async Task ASecondStart_ForANumberInFlight_NamesTheVerificationInFlight_UntilItEnds()
    {
        await using var app = await TestApp.StartAsync();
        var (first, _) = await app.StartAndAwaitWhatsAppAsync("+447700900123");
        Assert.True(PhoneNumber.TryParse("+447700900123", out var number));

        var second = await app.Verifications.StartAsync(number, null, app.Client, default);
        Assert.Null(second.Started);
        Assert.Equal(first.Id, second.VerificationInFlight);

        await app.Verifications.CancelAsync(first.Id, app.Client, default);
        var third = await app.Verifications.StartAsync(number, null, app.Client, default);
        Assert.NotNull(third.Started);
        Assert.NotEqual(first.Id, third.Started.Id);
    }

    [Fact]
    public async Task ParallelStarts_ForOneNumber_StartExactlyOne_AndTheOthersNameIt()
    {
        await using var app = await TestApp.StartAsync();
        Assert.True(PhoneNumber.TryParse("+4915112345678", out var number));

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => app.Verifications.StartAsync(number, null, app.Client, default))));

        var started = Assert.Single(results, r => r.Started is not null).Started!;
        Assert.All(results.Where(r => r.Started is null), r => Assert.Equal(started.Id, r.VerificationInFlight));
        await app.WhatsApp.WaitForMessageAsync();
        await Task.Delay(500);
        Assert.Equal(1, app.WhatsApp.Calls);
    }

    [Fact]
    public async Task AVerificationPastItsLifetime_NoLongerHoldsItsNumber()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await TestApp.StartAsync(o => o.CodeLifetime = TimeSpan.FromMinutes(10), time);
        Assert.True(PhoneNumber.TryParse("+33612345678", out var number));
        var first = await app.Verifications.StartAsync(number, null, app.Client, default);
        Assert.NotNull(first.Started);
        Assert.Equal(first.Started.Id, (await app.Verifications.StartAsync(number, null, app.Client, default)).VerificationInFlight);

        time.Advance(TimeSpan.FromMinutes(10));

        var next = await app.Verifications.StartAsync(number, null, app.Client, default);
        Assert.NotNull(next.Started);
        var check = await app.Verifications.CheckAsync(first.Started.Id, "123456", app.Client, default);
        Assert.Equal(CheckOutcome.AlreadyEnded, check.Outcome);
        Assert.Equal(VerificationStatus.Expired, check.Verification!.Status);
    }
}
