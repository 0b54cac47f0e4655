using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpFailover.Channels;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace OtpFailover.Email;

/// <summary>
/// Sends the code through the Azure Communication Services Email REST API (<c>POST /emails:send</c>). Every attempt
/// carries the verification's <c>Operation-Id</c> (made once and stored before the first send) and the same bytes, so
/// the service answers a repeated request with the operation it started instead of sending a second email. That makes
/// a retry safe after a timeout too. The repeatable-request headers go with it: past their window the service refuses a
/// repeat (412), which leaves the outcome unknown (the first attempt may have sent), never a second email. The answer is 202 with the operation: the email is queued, and whether it reached
/// the recipient's server comes later as an Event Grid delivery report (keyed by the same id).
/// </summary>
public sealed partial class AcsEmailSender(HttpClient http, IOptions<EmailOptions> emailOptions, TimeProvider time, ILogger<AcsEmailSender> logger)
    : IEmailCodeSender
{
    public const string OperationIdHeader = "Operation-Id";
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(10);

    /// <summary>When a throttled or unavailable service gave no <c>Retry-After</c>, the verification tries again after this.</summary>
    public static readonly TimeSpan TryAgainByDefault = TimeSpan.FromSeconds(15);

    private const string CircuitOpen = "email_circuit_open";

    public bool IsConfigured => emailOptions.Value.IsConfigured;

    /// <summary>How an operation id is written wherever it names an email: lower-case, hyphenated (<c>D</c>).</summary>
    public static string MessageIdOf(Guid operationId) => operationId.ToString("D");

    /// <summary>A report's message id as <see cref="MessageIdOf"/> writes it (ACS may write the GUID in capitals); other ids as they are.</summary>
    public static string NormalizeMessageId(string messageId) => Guid.TryParse(messageId, out var id) ? MessageIdOf(id) : messageId;

    public async Task<ChannelSendResult> SendAsync(EmailCodeMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var settings = emailOptions.Value;
        // Every attempt sends the same bytes: the lifetime the text states counts from the first attempt, not from now.
        var content = EmailText.Compose(message.Code, message.Brand, message.ExpiresAt - message.FirstSent, message.Locale);
        var body = JsonSerializer.SerializeToUtf8Bytes(
            new SendRequest(settings.From!, new Recipients([new EmailRecipient(message.To.Value)]), new Content(content.Subject, content.PlainText, content.Html), UserEngagementTrackingDisabled: true),
            ProviderJson.Options);
        // "./": a relative "emails:send" would read as a URI of the scheme "emails".
        var path = $"./emails:send?api-version={settings.ApiVersion}";
        return await ProviderSendLoop.RunAsync(
            new ProviderSendPolicy(settings.MaxSendAttempts, RepeatSafety.Repeatable, TryAgainByDefault, CircuitOpen),
            async token => await SendOnceAsync(path, body, message, token),
            (detail, attempt, delay) => LogRetrying(message.VerificationId, detail, attempt, delay.TotalMilliseconds),
            time,
            cancellationToken);
    }

    private async Task<ProviderAttempt> SendOnceAsync(string path, byte[] body, EmailCodeMessage message, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(OperationIdHeader, MessageIdOf(message.OperationId));
        // Communication Services' repeatable-request headers too: the service answers a repeat inside their window
        // with the first result, and refuses one outside it (412) rather than sending again.
        request.Headers.Add("Repeatability-Request-Id", MessageIdOf(message.OperationId));
        request.Headers.Add("Repeatability-First-Sent", AzureCommunication.AcsHmacSigning.FormatDate(message.FirstSent));

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (BrokenCircuitException)
        {
            return new ProviderAttempt(ChannelSendResult.Rejected(CircuitOpen), Retry: false);
        }
        catch (Exception ex) when (ex is TimeoutRejectedException or HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Perhaps sent. Safe to repeat: the same operation id makes the service answer instead of sending again.
            return new ProviderAttempt(ChannelSendResult.Unknown("email_unreachable"), Retry: true);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                var operation = await ProviderJson.ReadAsync<SendResponse>(response, cancellationToken);
                if (string.Equals(operation?.Status, "Failed", StringComparison.OrdinalIgnoreCase))
                {
                    return new ProviderAttempt(ChannelSendResult.Rejected("email_operation_failed", refusesRequest: true), Retry: false, RefusesRequest: true);
                }

                // The operation id is ours (the service echoes it); the delivery report names the email by it.
                return new ProviderAttempt(ChannelSendResult.Accepted(MessageIdOf(message.OperationId)), Retry: false);
            }

            // A repeatability rejection refuses the repeat, not the email: the first request may well have sent it.
            var repeatRejected = string.Equals(response.Headers.TryGetValues("Repeatability-Result", out var values) ? values.FirstOrDefault() : null, "rejected", StringComparison.OrdinalIgnoreCase);
            if (status == 412 || repeatRejected)
            {
                return new ProviderAttempt(ChannelSendResult.Unknown("email_repeatability_rejected"), Retry: false);
            }

            if (status is 401 or 403)
            {
                LogOperatorError(message.VerificationId, status);
            }

            if (status == 504)
            {
                // The gateway gave up waiting: the service behind it may have queued the email.
                return new ProviderAttempt(ChannelSendResult.Unknown("email_http_504"), Retry: true, Channels.RetryAfter.Of(response, time.GetUtcNow(), MaxRetryAfter));
            }

            var transient = response.StatusCode == HttpStatusCode.TooManyRequests || status >= 500;
            return new ProviderAttempt(ChannelSendResult.Rejected($"email_http_{status}", refusesRequest: status == 400), transient, transient ? Channels.RetryAfter.Of(response, time.GetUtcNow(), MaxRetryAfter) : null, RefusesRequest: status == 400);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: email send answered {Detail}; retrying with the same operation id (attempt {Attempt} done, next in {DelayMs} ms)")]
    private partial void LogRetrying(string verificationId, string? detail, int attempt, double delayMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Verification {VerificationId}: Communication Services refused the credentials ({Status}); check Email:ConnectionString or the managed identity's role")]
    private partial void LogOperatorError(string verificationId, int status);

    private sealed record SendRequest(string SenderAddress, Recipients Recipients, Content Content, bool UserEngagementTrackingDisabled);

    private sealed record Recipients(EmailRecipient[] To);

    private sealed record EmailRecipient(string Address);

    private sealed record Content(string Subject, string PlainText, string Html);

    private sealed record SendResponse(string? Id, string? Status);
}
