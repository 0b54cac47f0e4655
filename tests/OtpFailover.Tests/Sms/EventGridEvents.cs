using System.Text;
using System.Text.Json;

namespace OtpFailover.Tests.Sms;

/// <summary>Event Grid deliveries shaped as Event Grid sends them (Event Grid schema and CloudEvents 1.0).</summary>
public static class EventGridEvents
{
    private const string Topic = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/otp/providers/microsoft.communication/communicationservices/contoso";

    public static byte[] SubscriptionValidation(string code) => Serialize(new[]
    {
        new
        {
            id = Guid.NewGuid().ToString(),
            topic = Topic,
            subject = string.Empty,
            data = new { validationCode = code, validationUrl = $"https://rp-westus.eventgrid.azure.net/validate?code={code}" },
            eventType = "Microsoft.EventGrid.SubscriptionValidationEvent",
            eventTime = DateTimeOffset.UtcNow,
            metadataVersion = "1",
            dataVersion = "2",
        },
    });

    public static Dictionary<string, object?> DeliveryReport(string messageId, string status, string? tag, string tagProperty = "tag", string details = "No error.") => new()
    {
        ["messageId"] = messageId,
        ["from"] = "+18005550100",
        ["to"] = "+14255550123",
        ["deliveryStatus"] = status,
        ["deliveryStatusDetails"] = details,
        ["deliveryAttempts"] = new[] { new { timestamp = DateTimeOffset.UtcNow, segmentsSucceeded = status == "Delivered" ? 1 : 0, segmentsFailed = status == "Delivered" ? 0 : 1 } },
        ["receivedTimestamp"] = DateTimeOffset.UtcNow,
        [tagProperty] = tag,
    };

    /// <summary>An email's delivery report, as ACS sends it (it names the recipient; the app never keeps that).</summary>
    public static byte[] EmailDeliveryReport(string messageId, string status) => Serialize(new[]
    {
        new
        {
            id = Guid.NewGuid().ToString(),
            topic = Topic,
            subject = $"sender/DoNotReply@contoso.example/message/{messageId}",
            data = new Dictionary<string, object?>
            {
                ["sender"] = "DoNotReply@contoso.example",
                ["recipient"] = "ana@example.com",
                ["internetMessageId"] = $"<{messageId}@contoso.example>",
                ["messageId"] = messageId,
                ["status"] = status,
                ["deliveryStatusDetails"] = new { statusMessage = status == "Delivered" ? "No error." : "Mailbox does not exist." },
                ["deliveryAttemptTimeStamp"] = DateTimeOffset.UtcNow,
            },
            eventType = "Microsoft.Communication.EmailDeliveryReportReceived",
            dataVersion = "1.0",
            metadataVersion = "1",
            eventTime = DateTimeOffset.UtcNow,
        },
    });

    public static byte[] EventGridSchema(params Dictionary<string, object?>[] reports) => Serialize(reports.Select(data => new
    {
        id = Guid.NewGuid().ToString(),
        topic = Topic,
        subject = "/phonenumber/14255550123",
        data,
        eventType = "Microsoft.Communication.SMSDeliveryReportReceived",
        dataVersion = "1.0",
        metadataVersion = "1",
        eventTime = DateTimeOffset.UtcNow,
    }).ToArray());

    public static byte[] CloudEventsSchema(params Dictionary<string, object?>[] reports) => Serialize(reports.Select(data => new
    {
        id = Guid.NewGuid().ToString(),
        source = Topic,
        specversion = "1.0",
        type = "Microsoft.Communication.SMSDeliveryReportReceived",
        subject = "/phonenumber/14255550123",
        time = DateTimeOffset.UtcNow,
        datacontenttype = "application/json",
        data,
    }).ToArray());

    private static byte[] Serialize<T>(T value) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(value));
}
