using System.Text.Json;
using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.WhatsApp;

/// <summary>A WhatsApp Business Account webhook notification; only what status handling reads.</summary>
public sealed record WhatsAppWebhookPayload(
    [property: System.Text.Json.Serialization.JsonPropertyName("object")] string? ObjectType,
    IReadOnlyList<WhatsAppWebhookEntry>? Entry)
{
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Every status in every entry and change of the <c>messages</c> field; inbound messages are skipped.</summary>
    public IEnumerable<WhatsAppStatusUpdate> Statuses() =>
        from entry in Entry ?? []
        where entry is not null
        from change in entry.Changes ?? []
        where change is not null && change.Field == "messages" && change.Value?.Statuses is not null
        from status in change.Value!.Statuses!
        where status is not null
        select status;
}

public sealed record WhatsAppWebhookEntry(string? Id, IReadOnlyList<WhatsAppWebhookChange>? Changes);

public sealed record WhatsAppWebhookChange(string? Field, WhatsAppWebhookValue? Value);

public sealed record WhatsAppWebhookValue(string? MessagingProduct, IReadOnlyList<WhatsAppStatusUpdate>? Statuses);

public sealed record WhatsAppStatusUpdate(
    string? Id,
    string? Status,
    string? Timestamp,
    string? RecipientId,
    string? BizOpaqueCallbackData,
    WhatsAppPricing? Pricing,
    IReadOnlyList<WhatsAppStatusError>? Errors)
{
    public DeliveryStatus? DeliveryStatus => Status switch
    {
        "sent" => Channels.DeliveryStatus.Sent,
        "delivered" => Channels.DeliveryStatus.Delivered,
        "read" => Channels.DeliveryStatus.Read,
        "failed" => Channels.DeliveryStatus.Failed,
        _ => null,
    };

    /// <summary>
    /// WhatsApp's own time for the status (Unix seconds), or null when it is missing, malformed or out of any sane
    /// range (before 2009, when WhatsApp began, or beyond what a date can hold): such a status is ignored.
    /// </summary>
    public DateTimeOffset? At => long.TryParse(Timestamp, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
        && seconds >= EarliestTimestamp && seconds <= LatestTimestamp
        ? DateTimeOffset.FromUnixTimeSeconds(seconds)
        : null;

    /// <summary>2009-01-01T00:00:00Z.</summary>
    private const long EarliestTimestamp = 1_230_768_000;

    /// <summary>9999-12-31T23:59:59Z, the last second <see cref="DateTimeOffset"/> holds.</summary>
    private const long LatestTimestamp = 253_402_300_799;

    /// <summary>The verification id carried in <c>biz_opaque_callback_data</c> (<c>v1:{id}</c>), if there is one.</summary>
    public string? VerificationId => BizOpaqueCallbackData is { } data && data.StartsWith(WhatsAppCloudApiSender.CallbackPrefix, StringComparison.Ordinal)
        ? data[WhatsAppCloudApiSender.CallbackPrefix.Length..]
        : null;

    /// <summary>For the timeline: the error code and title of a failure, or the pricing category.</summary>
    public string? Detail => Errors is [var error, ..]
        ? ProviderText.Scrub($"{error.Code} {error.Title}")
        : Pricing?.Category is { } category ? $"pricing: {category}" : null;
}

public sealed record WhatsAppPricing(bool? Billable, string? PricingModel, string? Category);

public sealed record WhatsAppStatusError(int? Code, string? Title, string? Message);
