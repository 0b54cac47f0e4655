using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpFailover.AzureCommunication;
using OtpFailover.Channels;
using OtpFailover.Verifications;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace OtpFailover.Sms;

/// <summary>
/// Sends the code through the Azure Communication Services SMS REST API. Every attempt carries the verification's
/// repeatability pair (made once and stored before the first send), so the service answers a repeated request with
/// the first result instead of sending again. That makes retrying safe, even after a timeout: 429, 5xx, a
/// recipient-level 5xx and an unknown outcome are retried within <see cref="SmsOptions.MaxSendAttempts"/>; any other
/// 4xx, and a recipient the service refuses, are final.
/// </summary>
public sealed partial class AcsSmsSender(HttpClient http, IOptions<SmsOptions> smsOptions, TimeProvider time, ILogger<AcsSmsSender> logger)
    : ISmsCodeSender
{
    public const string TagPrefix = "v1:";
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the service is assumed to track a repeatability id (5 minutes for other Communication Services APIs;
    /// for SMS unconfirmed). A 400 to a send whose first attempt is older than this may be the window's refusal.
    /// </summary>
    public static readonly TimeSpan RepeatabilityWindow = TimeSpan.FromMinutes(5);

    /// <summary>When a throttled or unavailable service gave no <c>Retry-After</c>, the verification tries again after this.</summary>
    public static readonly TimeSpan TryAgainByDefault = TimeSpan.FromSeconds(15);

    private const string CircuitOpen = "sms_circuit_open";

    public async Task<ChannelSendResult> SendAsync(SmsCodeMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var settings = smsOptions.Value;
        // Every attempt, in this call or a retried activity, must send the same bytes: the text's "expires in N
        // minutes" is counted from the first-sent time that is stored with the repeatability id, not from now.
        var text = SmsText.Compose(message.Code, message.Brand, message.ExpiresAt - message.RepeatabilityFirstSent, settings.WebOtpDomain, message.Locale);
        var body = JsonSerializer.SerializeToUtf8Bytes(
            new SendRequest(
                settings.From!,
                [new Recipient(message.To.E164, message.RepeatabilityRequestId.ToString(), AcsHmacSigning.FormatDate(message.RepeatabilityFirstSent))],
                text,
                new SendOptions(EnableDeliveryReport: true, Tag: TagPrefix + message.VerificationId)),
            ProviderJson.Options);
        var path = $"sms?api-version={settings.ApiVersion}";

        // The repeatability pair makes a repeat safe, even of an unknown outcome; a send refused for now (throttled,
        // unavailable, the circuit open) is deferred, for the provider's Retry-After (capped at 10 s) or 15 s.
        return await ProviderSendLoop.RunAsync(
            new ProviderSendPolicy(settings.MaxSendAttempts, RepeatSafety.Repeatable, TryAgainByDefault, CircuitOpen),
            async token =>
            {
                var (result, retry, retryAfter, definitive) = await SendOnceAsync(path, body, message, token);
                return new ProviderAttempt(result, retry, retryAfter, definitive);
            },
            (detail, attempt, delay) => LogRetrying(message.VerificationId, detail, attempt, delay.TotalMilliseconds),
            time,
            cancellationToken);
    }

    /// <returns>
    /// The attempt's result; whether to try again; how long the service asked to wait; and whether a refusal refuses
    /// the request itself (so it refuses every earlier attempt with the same bytes too).
    /// </returns>
    private async Task<(ChannelSendResult Result, bool Retry, TimeSpan? RetryAfter, bool Definitive)> SendOnceAsync(string path, byte[] body, SmsCodeMessage message, CancellationToken cancellationToken)
    {
        var verificationId = message.VerificationId;
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (BrokenCircuitException)
        {
            return (ChannelSendResult.Rejected(CircuitOpen), false, null, false);
        }
        catch (Exception ex) when (ex is TimeoutRejectedException or HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Perhaps sent. Safe to repeat: the same repeatability pair makes the service answer instead of sending again.
            return (ChannelSendResult.Unknown("sms_unreachable"), true, null, false);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                var item = (await ProviderJson.ReadAsync<SendResponse>(response, cancellationToken))?.Value?.FirstOrDefault();
                if (item is null)
                {
                    // Accepted, but the answer cannot be read: a repeat with the same pair reads the first result.
                    return (ChannelSendResult.Unknown("sms_unreadable_response"), true, null, false);
                }

                if (string.Equals(item.RepeatabilityResult, "rejected", StringComparison.OrdinalIgnoreCase))
                {
                    return (ChannelSendResult.Unknown("sms_repeatability_rejected"), false, null, false);
                }

                if (item.Successful)
                {
                    return (ChannelSendResult.Accepted(item.MessageId), false, null, false);
                }

                var recipientStatus = item.HttpStatusCode ?? 0;
                var recipientTransient = recipientStatus is 429 or >= 500;
                return (ChannelSendResult.Rejected($"sms_recipient_{recipientStatus}", refusesRequest: !recipientTransient), recipientTransient, null, !recipientTransient);
            }

            // A repeatability rejection (412, or a first-sent time the service no longer tracks) refuses the repeat,
            // not the SMS: the first request with this id may well have been sent.
            var repeatRejected = string.Equals(response.Headers.TryGetValues("Repeatability-Result", out var values) ? values.FirstOrDefault() : null, "rejected", StringComparison.OrdinalIgnoreCase);
            if (status == 412 || repeatRejected || (status == 400 && time.GetUtcNow() - message.RepeatabilityFirstSent > RepeatabilityWindow))
            {
                LogRepeatRejected(verificationId, status);
                return (ChannelSendResult.Unknown("sms_repeatability_rejected"), false, null, false);
            }

            if (status == 401 || status == 403)
            {
                LogOperatorError(verificationId, status);
            }

            if (status == 504)
            {
                // The gateway gave up waiting: the service behind it may have sent the SMS.
                return (ChannelSendResult.Unknown("sms_http_504"), true, Channels.RetryAfter.Of(response, time.GetUtcNow(), MaxRetryAfter), false);
            }

            var transient = response.StatusCode == HttpStatusCode.TooManyRequests || status >= 500;
            return (ChannelSendResult.Rejected($"sms_http_{status}", refusesRequest: status == 400), transient, transient ? Channels.RetryAfter.Of(response, time.GetUtcNow(), MaxRetryAfter) : null, status == 400);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: SMS send answered {Detail}; retrying with the same repeatability id (attempt {Attempt} done, next in {DelayMs} ms)")]
    private partial void LogRetrying(string verificationId, string? detail, int attempt, double delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: Communication Services rejected a repeated send ({Status}); the first one may have gone out, so the SMS counts as sent")]
    private partial void LogRepeatRejected(string verificationId, int status);

    [LoggerMessage(Level = LogLevel.Error, Message = "Verification {VerificationId}: Communication Services refused the credentials ({Status}); check Sms:ConnectionString or the managed identity's role")]
    private partial void LogOperatorError(string verificationId, int status);

    private sealed record SendRequest(string From, Recipient[] SmsRecipients, string Message, SendOptions SmsSendOptions);

    private sealed record Recipient(string To, string RepeatabilityRequestId, string RepeatabilityFirstSent);

    private sealed record SendOptions(bool EnableDeliveryReport, string Tag);

    private sealed record SendResponse(List<SendResponseItem>? Value);

    private sealed record SendResponseItem(string? To, string? MessageId, int? HttpStatusCode, string? RepeatabilityResult, bool Successful, string? ErrorMessage);
}
