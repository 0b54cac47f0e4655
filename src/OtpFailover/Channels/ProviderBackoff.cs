namespace OtpFailover.Channels;

/// <summary>The pause before a provider send is tried again: exponential from 250 ms, with a little jitter.</summary>
public static class ProviderBackoff
{
    public static TimeSpan After(int attempt) =>
        TimeSpan.FromMilliseconds((250 * Math.Pow(2, attempt - 1)) + Random.Shared.Next(0, 100));
}
