using System.Net.Http.Headers;
using System.Globalization;
using Microsoft.Extensions.Options;

namespace OtpFailover.Callbacks;

/// <param name="Failure">Why it failed, for logs: <c>http_500</c>, <c>redirect_302</c>, <c>timeout</c>, <c>connection_error</c>, <c>address_not_allowed</c>, <c>host_not_found</c>, <c>circuit_open</c>.</param>
/// <param name="RetryAfter">The receiver's <c>Retry-After</c>, when it gave one.</param>
public sealed record CallbackAttempt(bool Delivered, string? Failure = null, TimeSpan? RetryAfter = null);

/// <summary>
/// Posts one signed event to a receiver. Any 2xx is delivered; anything else (a redirect too: it is never followed,
/// so an allowed host cannot bounce a callback to an address that is not) fails and is tried again later.
/// </summary>
public sealed class CallbackSender(HttpClient http, CallbackSigner signer, TimeProvider time)
{
    public const string UserAgent = "OtpFailover-Callbacks/1.0";

    public async Task<CallbackAttempt> PostAsync(Uri url, CallbackEvent callbackEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(callbackEvent);
        var body = callbackEvent.ToUtf8Json();
        var timestamp = time.GetUtcNow();
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.TryAddWithoutValidation(CallbackSigner.IdHeader, callbackEvent.Id);
        request.Headers.TryAddWithoutValidation(CallbackSigner.TimestampHeader, timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation(CallbackSigner.SignatureHeader, signer.Sign(callbackEvent.Id, timestamp, body));
        request.Headers.UserAgent.ParseAdd(UserAgent);

        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return new CallbackAttempt(true);
            }

            var failure = status is >= 300 and < 400 ? $"redirect_{status}" : $"http_{status}";
            return new CallbackAttempt(false, failure, Channels.RetryAfter.Of(response, timestamp));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException or Polly.Timeout.TimeoutRejectedException)
        {
            return new CallbackAttempt(false, "timeout");
        }
        catch (Polly.CircuitBreaker.BrokenCircuitException)
        {
            return new CallbackAttempt(false, "circuit_open");
        }
        catch (HttpRequestException ex) when (ex.InnerException is CallbackAddressRefusedException refused)
        {
            return new CallbackAttempt(false, refused.Unresolved ? "host_not_found" : "address_not_allowed");
        }
        catch (HttpRequestException)
        {
            return new CallbackAttempt(false, "connection_error");
        }
    }
}
