using Microsoft.Extensions.Time.Testing;
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

        // The rest found the verification ended, or the number's budget of wrong codes (15) taken by checks in flight.
        Assert.Equal(15, results.Count(r => r.Outcome is CheckOutcome.AlreadyEnded or CheckOutcome.RateLimited));
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
    public async Task ASecondStart_SupersedesTheVerificationInFlight_ItsCodeStopsWorking_AndTheNewCodeWorks()
    {
        await using var app = await TestApp.StartAsync();
        var (first, firstCode) = await app.StartAndAwaitWhatsAppAsync("+4915112345678");

        var (second, secondCode) = await app.StartAndAwaitWhatsAppAsync("+49 151 1234 5678");

        Assert.NotEqual(first.Id, second.Id);
        var old = await app.GetAsync(first.Id);
        Assert.Equal(VerificationStatus.Canceled, old.Status);
        var canceled = Assert.Single(old.Timeline, e => e.Type == TimelineEventTypes.Canceled);
        Assert.Equal("superseded", canceled.Detail);
        Assert.Equal(Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Completed, (await app.WaitForCompletionAsync(first.Id)).RuntimeStatus);

        var oldCheck = await app.Verifications.CheckAsync(first.Id, firstCode, app.Client, default);
        Assert.Equal(CheckOutcome.AlreadyEnded, oldCheck.Outcome);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(second.Id, secondCode, app.Client, default)).Outcome);
        Assert.Equal(2, app.WhatsApp.Calls);
        Assert.Equal(0, app.Sms.Calls);
    }

    [Fact]
    public async Task TwentyParallelStarts_ForOneNumber_LeaveExactlyOneInFlight_AndAdmitExactlyTheLimit()
    {
        await using var app = await TestApp.StartAsync(abuse: a => a.StartsPerNumber = new(5, TimeSpan.FromMinutes(15)));

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => app.TryStartAsync("+4915112345678"))));

        var started = results.Where(r => r.Outcome == StartOutcome.Started).Select(r => r.Verification!.Id).ToList();
        Assert.Equal(5, started.Count);
        Assert.Equal(15, results.Count(r => r.Outcome == StartOutcome.RateLimited));
        var states = await Task.WhenAll(started.Select(app.GetAsync));
        Assert.Single(states, v => v.Status == VerificationStatus.Pending);
        Assert.Equal(4, states.Count(v => v.Status == VerificationStatus.Canceled));

        // The limit's record holds exactly the admitted starts: the sixth start in the window is refused.
        var sixth = await app.TryStartAsync("+4915112345678");
        Assert.Equal(StartOutcome.RateLimited, sixth.Outcome);
        Assert.Equal(OtpFailover.Abuse.LimitKind.StartsPerNumber, sixth.Limit!.Limit);
    }

    [Fact]
    public async Task AVerificationPastItsLifetime_EndsExpired_NotSuperseded_WhenTheNumberStartsAgain()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await TestApp.StartAsync(o => o.CodeLifetime = TimeSpan.FromMinutes(10), time);
        var first = await app.StartAsync("+33612345678");

        time.Advance(TimeSpan.FromMinutes(10));

        var next = await app.StartAsync("+33612345678");
        Assert.NotEqual(first.Id, next.Id);
        var old = await app.GetAsync(first.Id);
        Assert.Equal(VerificationStatus.Expired, old.Status);
        Assert.DoesNotContain(old.Timeline, e => e.Detail == "superseded");
        var check = await app.Verifications.CheckAsync(first.Id, "123456", app.Client, default);
        Assert.Equal(CheckOutcome.AlreadyEnded, check.Outcome);
    }
}
