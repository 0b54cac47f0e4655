namespace OtpFailover.Channels;

/// <summary>What applying one provider status report did.</summary>
public enum StatusUpdateOutcome
{
    /// <summary>Recorded, and the orchestration told (when the verification is still pending).</summary>
    Applied,

    /// <summary>A duplicate, stale or out-of-order status: nothing changed.</summary>
    Unchanged,

    /// <summary>No such verification.</summary>
    NotFound,
}

/// <summary>What a provider's webhook call changed, as its 200 answer reports it.</summary>
public sealed record WebhookSummary(int Applied, int Unchanged, int Unknown);

/// <summary>Counts the outcomes of one webhook call's updates; safe to use from parallel updates.</summary>
public sealed class WebhookTally
{
    private int _applied;
    private int _unchanged;
    private int _unknown;

    public void Count(StatusUpdateOutcome outcome)
    {
        switch (outcome)
        {
            case StatusUpdateOutcome.Applied:
                Interlocked.Increment(ref _applied);
                break;
            case StatusUpdateOutcome.Unchanged:
                Interlocked.Increment(ref _unchanged);
                break;
            default:
                Interlocked.Increment(ref _unknown);
                break;
        }
    }

    public WebhookSummary ToSummary() => new(Volatile.Read(ref _applied), Volatile.Read(ref _unchanged), Volatile.Read(ref _unknown));
}
