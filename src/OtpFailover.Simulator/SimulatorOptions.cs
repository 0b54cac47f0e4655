using System.ComponentModel.DataAnnotations;

namespace OtpFailover.Simulator;

/// <summary>What a phone number does with what it is sent.</summary>
public enum WhatsAppBehaviour
{
    /// <summary>WhatsApp reports sent, then delivered.</summary>
    Deliver,

    /// <summary>Sent, delivered, then read.</summary>
    DeliverAndRead,

    /// <summary>No status ever comes: the failover timer fires.</summary>
    Silent,

    /// <summary>The send is refused with 131026 (not on WhatsApp): SMS at once.</summary>
    Undeliverable,
}

public enum SmsBehaviour
{
    Delivered,
    Failed,
}

/// <summary>The <c>Simulator</c> configuration section. The defaults match <c>local.settings.sample.json</c>.</summary>
public sealed class SimulatorOptions
{
    public const string SectionName = "Simulator";

    /// <summary>Where the function app listens; webhooks go to its <c>/api/webhooks/…</c>.</summary>
    [Required]
    [Url]
    public string FunctionAppUrl { get; set; } = "http://localhost:7071";

    /// <summary>A function key for the API calls of the try-it panel (not needed locally).</summary>
    public string? FunctionKey { get; set; }

    public string WhatsAppAccessToken { get; set; } = "simulator-access-token";

    public string WhatsAppPhoneNumberId { get; set; } = "100000000000001";

    public string WhatsAppApiVersion { get; set; } = "v24.0";

    public string WhatsAppTemplateName { get; set; } = "verification_code";

    public string WhatsAppTemplateLanguage { get; set; } = "en_US";

    public string WhatsAppAppSecret { get; set; } = "simulator-app-secret";

    /// <summary>Base64; the function app's <c>Sms:ConnectionString</c> must carry the same key.</summary>
    public string AcsAccessKey { get; set; } = "c2ltdWxhdG9yLWFjcy1hY2Nlc3Mta2V5LTAxMjM0NTY3";

    public string AcsWebhookKey { get; set; } = "simulator-webhook-key-0123456789";

    /// <summary>How long after a send the simulated phone reports delivery.</summary>
    public TimeSpan DeliveryDelay { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>How long after delivery it reports the message read (for <see cref="WhatsAppBehaviour.DeliverAndRead"/>).</summary>
    public TimeSpan ReadDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The behaviour of a number by its last digit, unless the page set one: 0–3 deliver, 4–5 deliver and read,
    /// 6–7 silent (SMS after the timeout), 8 not on WhatsApp, 9 silent and the SMS fails.
    /// </summary>
    public Dictionary<string, string> WhatsAppByLastDigit { get; set; } = new()
    {
        ["0"] = "Deliver", ["1"] = "Deliver", ["2"] = "Deliver", ["3"] = "Deliver",
        ["4"] = "DeliverAndRead", ["5"] = "DeliverAndRead",
        ["6"] = "Silent", ["7"] = "Silent",
        ["8"] = "Undeliverable",
        ["9"] = "Silent",
    };

    public Dictionary<string, string> SmsByLastDigit { get; set; } = new() { ["9"] = "Failed" };
}
