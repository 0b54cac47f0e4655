namespace OtpFailover.Workflow;

/// <summary>
/// An activity a durable timer led to waits out the rest of its deadline when the timer fired early (the Azure Storage
/// backend delays timer messages in whole seconds), so the orchestration needs no second timer (see <see cref="Deadline"/>).
/// </summary>
internal static class EarlyTimers
{
    /// <summary>The most a timer fires early, with room for clock skew.</summary>
    private static readonly TimeSpan MaxEarlyTimer = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Waits until <paramref name="notBefore"/>: the rest of a second, never more than <see cref="MaxEarlyTimer"/>. The
    /// clock decides when that is, not the delay: a timer counts whole milliseconds on a clock of its own, and may end a
    /// little before the deadline the clock shows (it once ended a verification 0.6 ms early); it is then set again.
    /// </summary>
    public static async Task WaitUntilAsync(TimeProvider time, DateTimeOffset? notBefore, CancellationToken cancellationToken)
    {
        if (notBefore is not { } due)
        {
            return;
        }

        var latest = time.GetUtcNow() + MaxEarlyTimer;
        var until = due < latest ? due : latest;
        while (until - time.GetUtcNow() is { Ticks: > 0 } rest)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(rest.TotalMilliseconds)), time, cancellationToken);
        }
    }
}
