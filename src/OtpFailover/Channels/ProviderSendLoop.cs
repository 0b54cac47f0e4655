
namespace OtpFailover.Channels;

/// <summary>Whether a send whose outcome is unknown may be made again.</summary>
public enum RepeatSafety
{
    /// <summary>The provider cannot de-duplicate (WhatsApp): an attempt that may have sent is never repeated.</summary>
    SendOnce,

    /// <summary>The provider de-duplicates a repeat of the same request (ACS's repeatability pair): repeating is safe.</summary>
    Repeatable,
}

/// <summary>What one attempt to send came to, as the provider's client reads its answer.</summary>
/// <param name="Retry">Worth another attempt now (throttled, unavailable; for a repeatable send, an unknown outcome too).</param>
/// <param name="RetryAfter">How long the provider asked to wait, as the client reads (and caps) its <c>Retry-After</c>.</param>
/// <param name="RefusesRequest">The answer refuses these very bytes, so it refuses every earlier attempt of them too.</param>
public sealed record ProviderAttempt(ChannelSendResult Result, bool Retry, TimeSpan? RetryAfter = null, bool RefusesRequest = false);

/// <summary>How a provider's sends are tried, as data: the differences between providers stay visible here.</summary>
/// <param name="DeferAfter">
/// When set, a send that was refused for now (the last attempt throttled, or the circuit open) says when to try it
/// again (<see cref="ChannelSendResult.TryAgainAfter"/>: the provider's own wait, else this). Null: a refusal is final
/// and the verification moves on.
/// </param>
/// <param name="CircuitOpenDetail">The detail a client gives an attempt its open circuit refused.</param>
public sealed record ProviderSendPolicy(int MaxAttempts, RepeatSafety Safety, TimeSpan? DeferAfter = null, string? CircuitOpenDetail = null);

/// <summary>
/// The one retry loop for every provider: attempts until one is final or <see cref="ProviderSendPolicy.MaxAttempts"/>
/// are made, waiting what the provider asked (else <see cref="ProviderBackoff"/>) in between. After an attempt that may
/// have sent, only a refusal of the request itself proves nothing went out; any other refusal leaves the send
/// unknown (for a <see cref="RepeatSafety.SendOnce"/> provider such an attempt is never repeated in the first place).
/// </summary>
public static class ProviderSendLoop
{
    public static async Task<ChannelSendResult> RunAsync(
        ProviderSendPolicy policy,
        Func<CancellationToken, Task<ProviderAttempt>> attempt,
        Action<string?, int, TimeSpan> retrying,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(attempt);
        ArgumentNullException.ThrowIfNull(retrying);
        var mayHaveSent = false;
        for (var number = 1; ; number++)
        {
            var made = await attempt(cancellationToken);
            var outcome = made.Result.Outcome;
            if (outcome == SendOutcome.Unknown && policy.Safety == RepeatSafety.SendOnce && made.Retry)
            {
                throw new InvalidOperationException("A send-once provider's client asked to repeat a send whose outcome is unknown.");
            }

            mayHaveSent |= outcome == SendOutcome.Unknown;
            if (!made.Retry || number >= policy.MaxAttempts)
            {
                if (outcome == SendOutcome.Rejected && mayHaveSent && !made.RefusesRequest)
                {
                    return ChannelSendResult.Unknown(made.Result.Detail ?? "outcome_unknown");
                }

                var refusedForNow = outcome == SendOutcome.Rejected && (made.Retry || (policy.CircuitOpenDetail is { } open && made.Result.Detail == open));
                return refusedForNow && policy.DeferAfter is { } byDefault
                    ? made.Result with { TryAgainAfter = made.RetryAfter ?? byDefault }
                    : made.Result;
            }

            var delay = made.RetryAfter ?? ProviderBackoff.After(number);
            retrying(made.Result.Detail, number, delay);
            await Task.Delay(delay, time, cancellationToken);
        }
    }
}
