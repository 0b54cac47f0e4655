namespace OtpFailover.Channels;

/// <summary>An HTTP answer's <c>Retry-After</c>, in seconds or as a date: how long from now, when that is in the future.</summary>
public static class RetryAfter
{
    public static TimeSpan? Of(HttpResponseMessage response, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(response);
        var header = response.Headers.RetryAfter;
        var delay = header?.Delta ?? (header?.Date is { } date ? date - now : null);
        return delay > TimeSpan.Zero ? delay : null;
    }

    /// <summary>As <see cref="Of(HttpResponseMessage, DateTimeOffset)"/>, at most <paramref name="maximum"/>: a sender waits it out in the activity.</summary>
    public static TimeSpan? Of(HttpResponseMessage response, DateTimeOffset now, TimeSpan maximum) =>
        Of(response, now) is { } delay ? (delay < maximum ? delay : maximum) : null;
}
