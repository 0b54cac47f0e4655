namespace OtpFailover.Workflow;

/// <summary>
/// An activity a durable timer led to waits out the rest of its deadline when the timer fired early (the Azure Storage
/// backend delays timer messages in whole seconds), so the orchestration needs no second timer (see <see cref="Deadline"/>).
/// </summary>
internal static class EarlyTimers
{
    /// <summary>The most a timer fires early, with room for clock skew.</summary>
    private static readonly TimeSpan MaxEarlyTimer = TimeSpan.FromSeconds(2);

    /// <summary>Waits until <paramref name="notBefore"/>: the rest of a second, never more than <see cref="MaxEarlyTimer"/>.</summary>
    public static async Task WaitUntilAsync(TimeProvider time, DateTimeOffset? notBefore, CancellationToken cancellationToken)
    {
        if (notBefore is { } due && due - time.GetUtcNow() is { Ticks: > 0 } rest)
        {
            await Task.Delay(rest < MaxEarlyTimer ? rest : MaxEarlyTimer, time, cancellationToken);
        }
    }
}
