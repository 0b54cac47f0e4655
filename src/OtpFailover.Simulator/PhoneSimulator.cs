using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace OtpFailover.Simulator;

/// <summary>One message a simulated phone received, and where its delivery stands.</summary>
public sealed class InboxMessage(string channel, string text, string code, string messageId, DateTimeOffset receivedAt)
{
    public string Channel { get; } = channel;

    public string Text { get; } = text;

    public string Code { get; } = code;

    public string MessageId { get; } = messageId;

    public DateTimeOffset ReceivedAt { get; } = receivedAt;

    public string State { get; set; } = "sent";
}

/// <summary>
/// The simulated phones: both providers' send endpoints, an inbox per number, a behaviour per number, and the
/// providers' callbacks to the function app (WhatsApp status webhooks signed with the app secret; Event Grid SMS
/// delivery reports carrying the webhook key), each after a realistic delay.
/// </summary>
public sealed partial class PhoneSimulator
{
    private readonly SimulatorOptions _options;
    private readonly IHttpClientFactory _http;
    private readonly TimeProvider _time;
    private readonly ILogger<PhoneSimulator> _logger;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<InboxMessage>> _inboxes = new();
    private readonly ConcurrentDictionary<string, (WhatsAppBehaviour WhatsApp, SmsBehaviour Sms)> _chosen = new();

    public PhoneSimulator(IOptions<SimulatorOptions> options, IHttpClientFactory http, TimeProvider time, ILogger<PhoneSimulator> logger)
    {
        _options = options.Value;
        _http = http;
        _time = time;
        _logger = logger;
        WhatsApp = new WhatsAppCloudApiStandIn(_options.WhatsAppAccessToken, _options.WhatsAppPhoneNumberId, _options.WhatsAppApiVersion, _options.WhatsAppTemplateName, _options.WhatsAppTemplateLanguage)
        {
            Answer = (received, _) => BehaviourOf(received.To).WhatsApp == WhatsAppBehaviour.Undeliverable
                ? StandInAnswer.GraphError(400, 131026, "Message undeliverable")
                : StandInAnswer.Accept,
            Accepted = OnWhatsAppAccepted,
        };
        Sms = new AcsSmsStandIn(Convert.FromBase64String(_options.AcsAccessKey)) { SmsSent = OnSmsSent };
    }

    public WhatsAppCloudApiStandIn WhatsApp { get; }

    public AcsSmsStandIn Sms { get; }

    public const string FunctionAppClient = "function-app";

    public static string Digits(string number) => new([.. number.Where(char.IsAsciiDigit)]);

    public IReadOnlyList<string> Numbers => [.. _inboxes.Keys.Order(StringComparer.Ordinal)];

    public IReadOnlyList<InboxMessage> Inbox(string number) =>
        _inboxes.TryGetValue(Digits(number), out var inbox) ? [.. inbox] : [];

    public (WhatsAppBehaviour WhatsApp, SmsBehaviour Sms) BehaviourOf(string number)
    {
        var digits = Digits(number);
        if (_chosen.TryGetValue(digits, out var chosen))
        {
            return chosen;
        }

        var last = digits.Length > 0 ? digits[^1..] : "0";
        var whatsApp = _options.WhatsAppByLastDigit.TryGetValue(last, out var w) && Enum.TryParse<WhatsAppBehaviour>(w, out var wb) ? wb : WhatsAppBehaviour.Deliver;
        var sms = _options.SmsByLastDigit.TryGetValue(last, out var s) && Enum.TryParse<SmsBehaviour>(s, out var sb) ? sb : SmsBehaviour.Delivered;
        return (whatsApp, sms);
    }

    public void Choose(string number, WhatsAppBehaviour whatsApp, SmsBehaviour sms) => _chosen[Digits(number)] = (whatsApp, sms);

    private void OnWhatsAppAccepted(ReceivedTemplate template)
    {
        var message = Receive(template.To, new InboxMessage("whatsapp", $"{template.BodyCode} is your verification code.", template.BodyCode, template.MessageId, _time.GetUtcNow()));
        var behaviour = BehaviourOf(template.To).WhatsApp;
        if (behaviour is WhatsAppBehaviour.Silent)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            await Task.Delay(_options.DeliveryDelay, _time);
            message.State = "delivered";
            await PostWhatsAppStatusesAsync(template, ["sent", "delivered"]);
            if (behaviour is WhatsAppBehaviour.DeliverAndRead)
            {
                await Task.Delay(_options.ReadDelay, _time);
                message.State = "read";
                await PostWhatsAppStatusesAsync(template, ["read"]);
            }
        });
    }

    private void OnSmsSent(SentSms sms)
    {
        var code = sms.Message.Split(' ', 2)[0];
        var message = Receive(sms.To, new InboxMessage("sms", sms.Message, code, sms.MessageId, _time.GetUtcNow()));
        var delivered = BehaviourOf(sms.To).Sms == SmsBehaviour.Delivered;
        _ = Task.Run(async () =>
        {
            await Task.Delay(_options.DeliveryDelay, _time);
            message.State = delivered ? "delivered" : "failed";
            if (sms.DeliveryReport)
            {
                await PostDeliveryReportAsync(sms, delivered);
            }
        });
    }

    private InboxMessage Receive(string number, InboxMessage message)
    {
        _inboxes.GetOrAdd(Digits(number), _ => new ConcurrentQueue<InboxMessage>()).Enqueue(message);
        return message;
    }

    private async Task PostWhatsAppStatusesAsync(ReceivedTemplate template, string[] statuses)
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            @object = "whatsapp_business_account",
            entry = new[]
            {
                new
                {
                    id = "102290129340398",
                    changes = new[]
                    {
                        new
                        {
                            field = "messages",
                            value = new
                            {
                                messaging_product = "whatsapp",
                                metadata = new { display_phone_number = "15550783881", phone_number_id = _options.WhatsAppPhoneNumberId },
                                statuses = statuses.Select(status => new Dictionary<string, object?>
                                {
                                    ["id"] = template.MessageId,
                                    ["status"] = status,
                                    ["timestamp"] = now,
                                    ["recipient_id"] = Digits(template.To),
                                    ["biz_opaque_callback_data"] = template.CallbackData,
                                    ["pricing"] = status == "read" ? null : new { billable = true, pricing_model = "PMP", category = "authentication" },
                                }.Where(kv => kv.Value is not null).ToDictionary()).ToArray(),
                            },
                        },
                    },
                },
            },
        });
        var signature = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(_options.WhatsAppAppSecret), body));
        await PostAsync("api/webhooks/whatsapp", body, ("X-Hub-Signature-256", signature));
    }

    private async Task PostDeliveryReportAsync(SentSms sms, bool delivered)
    {
        var now = _time.GetUtcNow();
        var body = JsonSerializer.SerializeToUtf8Bytes(new[]
        {
            new
            {
                id = Guid.NewGuid().ToString(),
                topic = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/microsoft.communication/communicationservices/simulator",
                subject = $"/phonenumber/{Digits(sms.To)}",
                data = new Dictionary<string, object?>
                {
                    ["messageId"] = sms.MessageId,
                    ["from"] = sms.From,
                    ["to"] = sms.To,
                    ["deliveryStatus"] = delivered ? "Delivered" : "Failed",
                    ["deliveryStatusDetails"] = delivered ? "No error." : "Carrier rejected the message.",
                    ["deliveryAttempts"] = new[] { new { timestamp = now, segmentsSucceeded = delivered ? 1 : 0, segmentsFailed = delivered ? 0 : 1 } },
                    ["receivedTimestamp"] = now,
                    ["tag"] = sms.Tag,
                },
                eventType = "Microsoft.Communication.SMSDeliveryReportReceived",
                dataVersion = "1.0",
                metadataVersion = "1",
                eventTime = now,
            },
        });
        await PostAsync($"api/webhooks/acs?key={Uri.EscapeDataString(_options.AcsWebhookKey)}", body);
    }

    private async Task PostAsync(string path, byte[] body, params (string Name, string Value)[] headers)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await _http.CreateClient(FunctionAppClient).SendAsync(request);
            LogCallback(path.Split('?')[0], (int)response.StatusCode);
        }
        catch (HttpRequestException ex)
        {
            LogCallbackFailed(ex, path.Split('?')[0]);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Posted {Path} to the function app: {Status}")]
    private partial void LogCallback(string path, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not post {Path} to the function app (is it running?)")]
    private partial void LogCallbackFailed(Exception exception, string path);
}
