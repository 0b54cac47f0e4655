namespace OtpFailover.Storage;

/// <summary>
/// The pause before an ETag conflict is retried: a few milliseconds, growing, with jitter so racers spread out. It
/// is real time on purpose, not the injected clock: a test's frozen clock must not freeze a retry.
/// </summary>
internal static class ConflictBackoff
{
    public static Task DelayAsync(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20 + (Math.Min(attempt, 40) * 5))), cancellationToken);
}
