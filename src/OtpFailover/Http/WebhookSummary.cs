using OtpFailover.Verifications;

namespace OtpFailover.Http;

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
