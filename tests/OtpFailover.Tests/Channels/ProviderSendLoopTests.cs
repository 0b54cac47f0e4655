using Microsoft.Extensions.Time.Testing;
using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.Tests.Channels;

/// <summary>
/// The one retry loop both providers use, with each provider's differences as data. (The providers' clients are
/// tested over HTTP against their stand-ins; this pins down the loop's own rules.)
/// </summary>
public sealed class ProviderSendLoopTests
{
    private static async Task<(ChannelSendResult Result, int Attempts, List<TimeSpan> Waits)> RunAsync(ProviderSendPolicy policy, params ProviderAttempt[] answers)
    {
        var clock = new FakeTimeProvider();
        var attempts = 0;
        var waits = new List<TimeSpan>();
        var run = ProviderSendLoop.RunAsync(
            policy,
            _ => Task.FromResult(answers[Math.Min(attempts++, answers.Length - 1)]),
            (_, _, delay) => waits.Add(delay),
            clock,
            CancellationToken.None);
        while (!run.IsCompleted)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(1);
        }

        return (await run, attempts, waits);
    }

    private static readonly ProviderAttempt Throttled = new(ChannelSendResult.Rejected("throttled"), Retry: true, RetryAfter: TimeSpan.FromSeconds(3));
    private static readonly ProviderAttempt Accepted = new(ChannelSendResult.Accepted("m-1"), Retry: false);
    private static readonly ProviderAttempt Lost = new(ChannelSendResult.Unknown("timeout"), Retry: true);

    [Fact]
    public async Task AThrottledSend_IsTriedAgain_AfterTheWaitTheProviderAsked_UntilItIsAccepted()
    {
        var (result, attempts, waits) = await RunAsync(new ProviderSendPolicy(4, RepeatSafety.Repeatable), Throttled, Throttled, Accepted);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(3, attempts);
        Assert.Equal([TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3)], waits);
    }

    [Fact]
    public async Task ARepeatableSend_ThatMayHaveGoneOut_IsUnknown_WhenALaterAttemptIsOnlyRefusedForNow()
    {
        var (result, attempts, _) = await RunAsync(new ProviderSendPolicy(2, RepeatSafety.Repeatable, TimeSpan.FromSeconds(15)), Lost, Throttled);

        Assert.Equal(2, attempts);
        Assert.Equal(SendOutcome.Unknown, result.Outcome);
    }

    [Fact]
    public async Task ARefusalOfTheRequestItself_ProvesNothingWentOut_EvenAfterAnUnknownAttempt()
    {
        var refused = new ProviderAttempt(ChannelSendResult.Rejected("invalid", refusesRequest: true), Retry: false, RefusesRequest: true);

        var (result, _, _) = await RunAsync(new ProviderSendPolicy(3, RepeatSafety.Repeatable), Lost, refused);

        Assert.Equal(SendOutcome.Rejected, result.Outcome);
    }

    [Fact]
    public async Task ASendRefusedForNow_IsDeferred_OnlyWhereThePolicySaysSo()
    {
        var deferred = await RunAsync(new ProviderSendPolicy(2, RepeatSafety.Repeatable, TimeSpan.FromSeconds(15)), Throttled);
        var final = await RunAsync(new ProviderSendPolicy(2, RepeatSafety.SendOnce), Throttled);
        var circuit = await RunAsync(new ProviderSendPolicy(2, RepeatSafety.Repeatable, TimeSpan.FromSeconds(15), "open"), new ProviderAttempt(ChannelSendResult.Rejected("open"), Retry: false));

        Assert.Equal(TimeSpan.FromSeconds(3), deferred.Result.TryAgainAfter);
        Assert.Null(final.Result.TryAgainAfter);
        Assert.Equal(TimeSpan.FromSeconds(15), circuit.Result.TryAgainAfter);
    }

    [Fact]
    public async Task ASendOnceProvider_IsNeverAskedToRepeatAnUnknownOutcome() =>
        await Assert.ThrowsAsync<InvalidOperationException>(() => RunAsync(new ProviderSendPolicy(3, RepeatSafety.SendOnce), Lost));
}
