using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using OtpFailover.Channels;
using OtpFailover.Storage;

namespace OtpFailover.Verifications;

/// <summary>
/// One verification, one row (partition = verification id), so every change is a single ETag-guarded write.
/// It holds no code and no whole phone number: the code is derived, the number encrypted and indexed.
/// </summary>
public sealed class VerificationEntity : ITableEntity, IOperationStamped
{
    internal const string VerificationRowKey = "verification";
    private const int MaxTimelineEvents = 200;

    public string PartitionKey { get; set; } = string.Empty;

    public string RowKey { get; set; } = VerificationRowKey;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string Status { get; set; } = nameof(VerificationStatus.Pending);

    public string Channel { get; set; } = nameof(Channels.Channel.WhatsApp);

    public string MaskedPhoneNumber { get; set; } = string.Empty;

    public string PhoneIndex { get; set; } = string.Empty;

    /// <summary>The number's region (ISO 3166-1 alpha-2): the SMS budget it counts against.</summary>
    public string RegionCode { get; set; } = string.Empty;

    public byte[] PhoneCiphertext { get; set; } = [];

    /// <summary>The keyed hash of the start's email address (what <c>Abuse:EmailPerAddress</c> counts); null without one.</summary>
    public string? EmailIndex { get; set; }

    /// <summary>The address, encrypted and bound to the verification id; null without one.</summary>
    public byte[]? EmailCiphertext { get; set; }

    public string? MaskedEmail { get; set; }

    public string? ClientReference { get; set; }

    /// <summary>The verification's language (BCP 47): the SMS text's, and the WhatsApp template's where approved.</summary>
    public string? Locale { get; set; }

    /// <summary>The W3C trace context of the start's span: every later step of the verification opens its span under it.</summary>
    public string? TraceParent { get; set; }

    /// <summary>Where this verification's status events go (its start's own URL, or the global one then); null: nowhere.</summary>
    public string? CallbackUrl { get; set; }

    public int CodeLength { get; set; }

    public int MaxAttempts { get; set; }

    public int AttemptsUsed { get; set; }

    /// <summary>
    /// The number's wrong codes (across its earlier verifications, in the limit's window) when this one started: with
    /// <see cref="AttemptsUsed"/>, what this verification may still take from <c>Abuse:FailedChecksPerNumber</c>.
    /// </summary>
    public int FailedChecksBefore { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    /// <summary>The verification's channels in the order they are tried (<c>whatsapp,sms</c>); empty on rows from before plans: WhatsApp, then SMS.</summary>
    public string Plan { get; set; } = string.Empty;

    /// <summary>The channel sends so far, in order (JSON of <see cref="ChannelSend"/>): one entry per channel tried.</summary>
    public string Sends { get; set; } = "[]";

    public DateTimeOffset? ResendRequestedAt { get; set; }

    public string Timeline { get; set; } = "[]";

    /// <summary>The operations that wrote the row last (see <see cref="IOperationStamped"/>).</summary>
    public string? Operations { get; set; }

    internal string Id => PartitionKey;

    internal VerificationStatus StatusValue
    {
        get => Enum.Parse<VerificationStatus>(Status);
        set => Status = value.ToString();
    }

    internal Channel ChannelValue
    {
        get => Enum.Parse<Channel>(Channel);
        set => Channel = value.ToString();
    }

    internal bool IsPending => StatusValue == VerificationStatus.Pending;

    internal IReadOnlyList<Channel> PlanValue
    {
        get => string.IsNullOrEmpty(Plan) ? ChannelPlanner.DefaultPlan : ChannelPlanner.Parse(Plan);
        set => Plan = ChannelNames.Join(value);
    }

    internal IReadOnlyList<ChannelSend> ReadSends() =>
        JsonSerializer.Deserialize<List<ChannelSend>>(Sends, StorageJson.Options) ?? [];

    internal ChannelSend? SendOn(Channel channel) => ReadSends().FirstOrDefault(s => s.Channel == channel);

    /// <summary>Adds <paramref name="send"/>, or replaces its channel's entry.</summary>
    internal void Put(ChannelSend send)
    {
        var sends = ReadSends().ToList();
        var at = sends.FindIndex(s => s.Channel == send.Channel);
        if (at < 0)
        {
            sends.Add(send);
        }
        else
        {
            sends[at] = send;
        }

        Sends = JsonSerializer.Serialize(sends, StorageJson.Options);
    }

    /// <summary>
    /// A channel other than <paramref name="channel"/> may have put the code in the user's hand: it confirmed delivery,
    /// or it sent (or may have) and its provider's delivery reports cannot be relied on to say otherwise.
    /// </summary>
    internal bool AnotherChannelMayHaveReached(Channel channel, Func<Channel, bool> reportsDelivery) =>
        ReadSends().Any(s => s.Channel != channel && (s.Confirmed || (s.MayHaveSent && s.Delivery != DeliveryStatus.Failed && !reportsDelivery(s.Channel))));

    /// <summary>
    /// The plan's channel after the one the verification is on (the last it moved to; the plan's first before any),
    /// or null when it is on the last.
    /// </summary>
    internal Channel? NextChannel()
    {
        if (string.IsNullOrEmpty(Plan))
        {
            return null; // a row from before plans: its orchestration ran in the old hub, and nothing would act on a resend
        }

        var plan = PlanValue;
        var sends = ReadSends();
        var current = sends.Count == 0 ? 0 : plan.ToList().IndexOf(sends[^1].Channel);
        return current >= 0 && current + 1 < plan.Count ? plan[current + 1] : null;
    }

    /// <summary>What a send to <paramref name="recipient"/> is counted against (<c>Abuse/ISendAllowance</c>): the recipient's index and its group.</summary>
    /// <exception cref="InvalidOperationException">The verification has no such recipient (a start without an email address).</exception>
    internal (string Recipient, string Group) ChargeFor(RecipientKind recipient) =>
        recipient == RecipientKind.EmailAddress
            ? (EmailIndex ?? throw new InvalidOperationException("The verification has no email address to charge."), string.Empty)
            : (PhoneIndex, RegionCode);

    /// <summary>Whether the verification has someone <paramref name="recipient"/> can reach.</summary>
    internal bool Has(RecipientKind recipient) => recipient != RecipientKind.EmailAddress || (EmailIndex is not null && EmailCiphertext is not null);

    /// <summary>The recipient as logs may show it.</summary>
    internal string MaskedRecipient(RecipientKind recipient) =>
        recipient == RecipientKind.EmailAddress ? MaskedEmail ?? string.Empty : PhoneNumbers.PhoneNumber.Remask(MaskedPhoneNumber);

    internal IReadOnlyList<TimelineEvent> ReadTimeline() =>
        JsonSerializer.Deserialize<List<TimelineEvent>>(Timeline, StorageJson.Options) ?? [];

    internal void Append(TimelineEvent timelineEvent)
    {
        var events = JsonSerializer.Deserialize<List<TimelineEvent>>(Timeline, StorageJson.Options) ?? [];
        if (events.Count >= MaxTimelineEvents)
        {
            return;
        }

        events.Add(timelineEvent);
        Timeline = JsonSerializer.Serialize(events, StorageJson.Options);
    }

    internal bool HasEvent(string type) => ReadTimeline().Any(e => e.Type == type);

    /// <summary>Ends a pending verification with <paramref name="status"/> and records why.</summary>
    internal void End(VerificationStatus status, string eventType, DateTimeOffset at, string? reason = null, string? detail = null)
    {
        StatusValue = status;
        EndedAt = at;
        Append(new TimelineEvent(eventType, at, reason, detail));
    }

    internal Verification ToVerification() => new()
    {
        Id = Id,
        Status = StatusValue,
        Channel = ChannelValue,
        // Rows from before 1.4 keep a mask that shows more of a short number: shown to today's rule.
        MaskedPhoneNumber = PhoneNumbers.PhoneNumber.Remask(MaskedPhoneNumber),
        MaskedEmail = MaskedEmail,
        ClientReference = ClientReference,
        CodeLength = CodeLength,
        MaxAttempts = MaxAttempts,
        AttemptsUsed = AttemptsUsed,
        CreatedAt = CreatedAt,
        ExpiresAt = ExpiresAt,
        Plan = PlanValue,
        Sends = ReadSends(),
        ResendRequested = ResendRequestedAt is not null,
        // In the order the service recorded them: a provider's own timestamps need not agree with ours.
        Timeline = ReadTimeline(),
    };
}

/// <summary>
/// Binds a caller's <c>Idempotency-Key</c> to the verification it started (partition = <c>idem-{number's keyed
/// hash}</c>, row = SHA-256 of the key), so a repeated start returns that verification instead of superseding it.
/// </summary>
public sealed class IdempotencyEntity : ITableEntity
{
    public string PartitionKey { get; set; } = string.Empty;

    public string RowKey { get; set; } = string.Empty;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string VerificationId { get; set; } = string.Empty;

    public DateTimeOffset ClaimedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    internal static string PartitionFor(string phoneIndex) => $"idem-{phoneIndex}";
}

/// <summary>Finds a verification by a provider's message id (WhatsApp's <c>wamid</c>, ACS's message id).</summary>
public sealed class MessageIndexEntity : ITableEntity
{
    internal const string IndexRowKey = "message";

    public string PartitionKey { get; set; } = string.Empty;

    public string RowKey { get; set; } = IndexRowKey;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string VerificationId { get; set; } = string.Empty;

    /// <summary>Keyed by the message id's keyed hash (hex), never the id: a WhatsApp id holds the recipient's number.</summary>
    internal static string PartitionFor(Channel channel, string messageKey) => $"msg-{channel.ToString().ToLowerInvariant()}-{messageKey}";
}

internal static class StorageJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
