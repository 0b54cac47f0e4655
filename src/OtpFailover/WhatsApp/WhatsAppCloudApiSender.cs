using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpFailover.Channels;
using OtpFailover.Verifications;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace OtpFailover.WhatsApp;

/// <summary>
/// Sends the code as a WhatsApp authentication template through Meta's Cloud API. Only answers that prove nothing
/// was sent are retried within <see cref="WhatsAppOptions.MaxSendAttempts"/>: rate-limit refusals (<c>4</c>,
/// <c>80007</c>, <c>130429</c>, <c>131056</c>, HTTP 429) and a connection that never opened. Everything that does not
/// prove a refusal (a 5xx, error <c>1</c> or <c>2</c>, a timeout, a dropped connection, a success without a message
/// id) leaves the outcome unknown and is never repeated: WhatsApp has no idempotency key, so a retry could message
/// the user twice. The verification fails over to SMS instead: one message per channel at worst, never a gap.
/// </summary>
public sealed partial class WhatsAppCloudApiSender(HttpClient http, IOptions<WhatsAppOptions> options, TimeProvider time, ILogger<WhatsAppCloudApiSender> logger)
    : IWhatsAppCodeSender
{
    public const string CallbackPrefix = "v1:";
    public const string OutcomeUnknown = "whatsapp_outcome_unknown";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public async Task<ChannelSendResult> SendAsync(WhatsAppCodeMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var settings = options.Value;
        var language = settings.TemplateLanguageFor(message.Locale);
        var result = await SendInAsync(message, language, settings, cancellationToken);
        if (!string.Equals(language, settings.TemplateLanguage, StringComparison.OrdinalIgnoreCase) && result.Outcome == SendOutcome.Rejected && result.Detail == TemplateMissing)
        {
            // Not approved in that language after all (WhatsApp:TemplateLanguages is wrong): the refusal proves nothing
            // went out, so the default language is tried rather than paying for an SMS.
            LogLanguageRefused(message.VerificationId, language);
            result = await SendInAsync(message, settings.TemplateLanguage, settings, cancellationToken);
        }

        return result;
    }

    private static readonly string TemplateMissing = WhatsAppErrorCodes.Describe(132001);

    private async Task<ChannelSendResult> SendInAsync(WhatsAppCodeMessage message, string language, WhatsAppOptions settings, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(TemplateMessage.For(message, settings.TemplateName, language), Json);
        var path = $"{settings.ApiVersion}/{settings.PhoneNumberId}/messages";

        // WhatsApp cannot de-duplicate; a refusal fails over to SMS instead of waiting; Retry-After is not read.
        return await ProviderSendLoop.RunAsync(
            new ProviderSendPolicy(settings.MaxSendAttempts, RepeatSafety.SendOnce),
            async token =>
            {
                var (result, retry) = await SendOnceAsync(path, body, settings.AccessToken!, message.VerificationId, token);
                return new ProviderAttempt(result, retry);
            },
            (detail, attempt, delay) => LogRetrying(message.VerificationId, detail, attempt, delay.TotalMilliseconds),
            time,
            cancellationToken);
    }

    private async Task<(ChannelSendResult Result, bool Retry)> SendOnceAsync(string path, byte[] body, string accessToken, string verificationId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex) when (NeverLeft(ex))
        {
            // The request never left: trying again cannot send twice.
            return (ChannelSendResult.Rejected("whatsapp_unreachable"), true);
        }
        catch (BrokenCircuitException)
        {
            return (ChannelSendResult.Rejected("whatsapp_circuit_open"), false);
        }
        catch (Exception ex) when (ex is TimeoutRejectedException or HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogOutcomeUnknown(verificationId, ex.GetType().Name);
            return (ChannelSendResult.Unknown(OutcomeUnknown), false);
        }

        using (response)
        {
            var content = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                var accepted = TryRead<SendResponse>(content)?.Messages?.FirstOrDefault()?.Id;
                return accepted is null
                    ? (ChannelSendResult.Unknown(OutcomeUnknown), false)
                    : (ChannelSendResult.Accepted(accepted), false);
            }

            var error = TryRead<ErrorResponse>(content)?.Error;
            if (error?.Code is not { } code)
            {
                return status >= 500
                    ? (ChannelSendResult.Unknown($"whatsapp_http_{status}"), false)
                    : (ChannelSendResult.Rejected($"whatsapp_http_{status}"), response.StatusCode == HttpStatusCode.TooManyRequests);
            }

            var detail = WhatsAppErrorCodes.Describe(code);
            if (WhatsAppErrorCodes.IsOperatorError(code))
            {
                LogOperatorError(verificationId, code, error.Type);
            }

            if (WhatsAppErrorCodes.IsRetryableRefusal(code))
            {
                return (ChannelSendResult.Rejected(detail), true);
            }

            if (status >= 500 || WhatsAppErrorCodes.LeavesOutcomeUnknown(code))
            {
                LogOutcomeUnknown(verificationId, detail);
                return (ChannelSendResult.Unknown(detail), false);
            }

            return (ChannelSendResult.Rejected(detail), false);
        }
    }

    /// <summary>True when the connection was never made (no name, refused, unreachable): no byte of the request left.</summary>
    private static bool NeverLeft(HttpRequestException ex) =>
        ex.HttpRequestError is HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError ||
        (ex.HttpRequestError == HttpRequestError.ConnectionError && ex.InnerException is System.Net.Sockets.SocketException
        {
            SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused or System.Net.Sockets.SocketError.HostUnreachable or System.Net.Sockets.SocketError.NetworkUnreachable or System.Net.Sockets.SocketError.HostNotFound,
        });

    private static T? TryRead<T>(byte[] content)
        where T : class
    {
        try
        {
            return content.Length == 0 ? null : JsonSerializer.Deserialize<T>(content, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: WhatsApp answered {Detail}; retrying (attempt {Attempt} done, next in {DelayMs} ms)")]
    private partial void LogRetrying(string verificationId, string? detail, int attempt, double delayMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Verification {VerificationId}: WhatsApp has no template in {Language} (WhatsApp:TemplateLanguages names it, or WhatsApp:TemplateName is wrong); sending in WhatsApp:TemplateLanguage instead")]
    private partial void LogLanguageRefused(string verificationId, string language);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: the WhatsApp send's outcome is unknown ({Failure}); not repeating it")]
    private partial void LogOutcomeUnknown(string verificationId, string failure);

    [LoggerMessage(Level = LogLevel.Error, Message = "Verification {VerificationId}: WhatsApp refused the send with error {Code} ({Type}); check the access token and the template in WhatsApp Manager")]
    private partial void LogOperatorError(string verificationId, int code, string? type);

    /// <summary>The send body of an authentication template with a copy-code button.</summary>
    internal sealed record TemplateMessage(
        string MessagingProduct,
        string RecipientType,
        string To,
        string Type,
        Template Template,
        string BizOpaqueCallbackData)
    {
        public static TemplateMessage For(WhatsAppCodeMessage message, string templateName, string language)
        {
            Parameter[] code = [new("text", message.Code)];
            return new(
                "whatsapp",
                "individual",
                message.To.Digits,
                "template",
                new Template(templateName, new Language(language), [new("body", null, null, code), new("button", "url", "0", code)]),
                CallbackPrefix + message.VerificationId);
        }
    }

    internal sealed record Template(string Name, Language Language, Component[] Components);

    internal sealed record Language(string Code);

    internal sealed record Component(string Type, string? SubType, string? Index, Parameter[] Parameters);

    internal sealed record Parameter(string Type, string Text);

    private sealed record SendResponse(List<SentMessage>? Messages);

    private sealed record SentMessage(string? Id);

    private sealed record ErrorResponse(GraphError? Error);

    private sealed record GraphError(int? Code, string? Type);
}
