using System.Text;
using System.Text.Json;

namespace OtpFailover.Tests.WhatsApp;

/// <summary>Builds webhook notifications shaped as Meta sends them.</summary>
public static class WhatsAppNotifications
{
    public sealed record Status(string MessageId, string Status_, long Timestamp, string? CallbackData = null, int? ErrorCode = null, string? ErrorTitle = null, string? PricingCategory = null);

    /// <summary>One entry per group, one change per status list; extra changes carry an inbound message.</summary>
    public static byte[] Build(params Status[][] entries)
    {
        var payload = new
        {
            @object = "whatsapp_business_account",
            entry = entries.Select((statuses, i) => new
            {
                id = $"10229012934039{i}",
                changes = new object[]
                {
                    new
                    {
                        field = "messages",
                        value = new
                        {
                            messaging_product = "whatsapp",
                            metadata = new { display_phone_number = "15550783881", phone_number_id = "106540352242922" },
                            statuses = statuses.Select(s => new Dictionary<string, object?>
                            {
                                ["id"] = s.MessageId,
                                ["status"] = s.Status_,
                                ["timestamp"] = s.Timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture),
                                ["recipient_id"] = "16505551234",
                                ["biz_opaque_callback_data"] = s.CallbackData,
                                ["pricing"] = s.PricingCategory is null ? null : new { billable = true, pricing_model = "PMP", category = s.PricingCategory },
                                ["errors"] = s.ErrorCode is null ? null : new[] { new { code = s.ErrorCode, title = s.ErrorTitle, message = s.ErrorTitle, error_data = new { details = "Message failed to send." }, href = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/" } },
                            }.Where(kv => kv.Value is not null).ToDictionary()),
                        },
                    },
                    new
                    {
                        field = "messages",
                        value = new
                        {
                            messaging_product = "whatsapp",
                            messages = new[] { new { from = "16505551234", id = "wamid.inbound", timestamp = "1750263800", type = "text", text = new { body = "hi" } } },
                        },
                    },
                },
            }),
        };
        return Encoding.UTF8.GetBytes(JsonSerializer.Serialize(payload));
    }
}
