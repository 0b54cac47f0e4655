using System.ComponentModel.DataAnnotations;
using OtpFailover.Channels;

namespace OtpFailover.Verifications;

/// <summary>The <c>Verification</c> configuration section.</summary>
public sealed class VerificationOptions
{
    public const string SectionName = "Verification";

    [Range(4, 10, ErrorMessage = "Verification:CodeLength must be between {1} and {2} digits.")]
    public int CodeLength { get; set; } = 6;

    [Range(typeof(TimeSpan), "00:01:00", "01:00:00", ErrorMessage = "Verification:CodeLifetime must be between {1} and {2}.")]
    public TimeSpan CodeLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The channels, in the order they are tried (<c>whatsapp, sms</c>): the next one is used when the current one fails,
    /// is refused, is not confirmed in time, or the caller asks for a resend.
    /// </summary>
    public string Channels { get; set; } = "whatsapp, sms";

    /// <summary>
    /// Per country (ISO 3166-1 alpha-2, the number's region), its own ordered list of channels, each one of
    /// <see cref="Channels"/>: <c>Verification:ChannelsByCountry:US = sms</c>. A start's own <c>channels</c> may reorder
    /// or drop these, but not add others (unless <see cref="AllowChannelsBeyondCountry"/>).
    /// </summary>
    public Dictionary<string, string> ChannelsByCountry { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Whether a start's own <c>channels</c> may name any configured channel, not only those of the number's country
    /// list. Off: a caller cannot send SMS into a country the operator routed to WhatsApp only.
    /// </summary>
    public bool AllowChannelsBeyondCountry { get; set; }

    /// <summary>
    /// When SMS is not the last channel of a plan: how long to wait for its delivery report before the next channel.
    /// Off by default (empty): then only a failed report, a refusal or a resend moves on from SMS.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:15", "00:15:00", ErrorMessage = "Verification:SmsDeliveryTimeout must be empty (off) or between {1} and {2}.")]
    public TimeSpan? SmsDeliveryTimeout { get; set; }

    /// <summary>
    /// How long an email that is not the plan's last waits for its delivery report before the next channel; empty:
    /// no limit (only a bounce, a refusal or a resend moves on).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:15", "00:15:00", ErrorMessage = "Verification:EmailDeliveryTimeout must be empty (off) or between {1} and {2}.")]
    public TimeSpan? EmailDeliveryTimeout { get; set; }

    [Range(typeof(TimeSpan), "00:00:15", "00:15:00", ErrorMessage = "Verification:WhatsAppDeliveryTimeout must be between {1} and {2}.")]
    public TimeSpan WhatsAppDeliveryTimeout { get; set; } = TimeSpan.FromSeconds(60);

    [EnumDataType(typeof(FailoverWhen), ErrorMessage = "Verification:FailoverWhen must be Delivered or Read.")]
    public FailoverWhen FailoverWhen { get; set; } = FailoverWhen.Delivered;

    /// <summary>
    /// When set, a code that WhatsApp delivered but the user did not verify within this time (counted from the
    /// delivery confirmation) is sent again by SMS. Off by default.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:15", "01:00:00", ErrorMessage = "Verification:FailoverIfUnverifiedAfter must be empty (off) or between {1} and {2}.")]
    public TimeSpan? FailoverIfUnverifiedAfter { get; set; }

    /// <summary>
    /// While WhatsApp's delivery is confirmed and the code not yet checked, how often the workflow reads the row in
    /// case a signal (a resend, an end) is late after a crash.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:10", "00:10:00", ErrorMessage = "Verification:ReconcileInterval must be between {1} and {2}.")]
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromMinutes(1);

    [Range(1, 20, ErrorMessage = "Verification:MaxCheckAttempts must be between {1} and {2}.")]
    public int MaxCheckAttempts { get; set; } = 5;

    /// <summary>
    /// The language of a verification started without a <c>locale</c> (BCP 47): the SMS text's language and the
    /// WhatsApp template's, where one is configured for it (<c>WhatsApp:TemplateLanguages</c>).
    /// </summary>
    public string DefaultLocale { get; set; } = Locales.Default;

    /// <summary>The name the SMS text uses ("123456 is your {Brand} verification code.").</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Verification:Brand is required: the name the SMS text shows.")]
    [StringLength(30, ErrorMessage = "Verification:Brand must be at most {1} characters.")]
    [RegularExpression(@"^[A-Za-z0-9 .&'-]+\z", ErrorMessage = "Verification:Brand may only hold letters, digits, spaces and . & ' - (so the SMS stays one GSM-7 segment).")]
    public string Brand { get; set; } = "OtpFailover";

    /// <summary>
    /// Server secret, Base64, at least 32 bytes. Codes are derived from it, and stored phone numbers are encrypted
    /// and indexed with keys derived from it. Changing it invalidates verifications in flight.
    /// </summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Verification:CodeKey is required: Base64 of at least 32 random bytes (for example `openssl rand -base64 32`).")]
    public string CodeKey { get; set; } = string.Empty;
}
