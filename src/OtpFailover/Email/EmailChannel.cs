using Microsoft.Extensions.Options;
using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.Email;

/// <summary>
/// Email as a channel: repeatable (ACS Email answers a repeated <c>Operation-Id</c> with its first operation), metered
/// by <c>Abuse:EmailPerAddress</c>, and reaching the verification's email address. A delivery report says the
/// recipient's mail server took it, not that the person read it; a bounce, a suppression or a spam filter fails it.
/// </summary>
public sealed class EmailChannel(IEmailCodeSender sender, IOptions<VerificationOptions> options) : ICodeChannel
{
    public Channel Channel => Channel.Email;

    public RecipientKind Recipient => RecipientKind.EmailAddress;

    public RepeatSafety Safety => RepeatSafety.Repeatable;

    public bool Metered => true;

    public bool IsConfigured => sender.IsConfigured;

    /// <summary>Delivery reports come once the email subscription exists, and bounces come late or never: not relied on.</summary>
    public bool ReportsDelivery => false;

    /// <summary>ACS's email delivery reports say delivered, or failed (bounced, suppressed, quarantined, filtered as spam).</summary>
    public IReadOnlySet<DeliveryStatus> Reports { get; } = new HashSet<DeliveryStatus> { DeliveryStatus.Delivered, DeliveryStatus.Failed };

    /// <summary>A <c>Delivered</c> report: the recipient's server accepted the email.</summary>
    public FailoverWhen ConfirmedBy => FailoverWhen.Delivered;

    public TimeSpan? ConfirmWithin => options.Value.EmailDeliveryTimeout;

    /// <summary>The operation id: ACS's delivery report names the email by it.</summary>
    public string? MessageIdFor(Repeatability pair)
    {
        ArgumentNullException.ThrowIfNull(pair);
        return AcsEmailSender.MessageIdOf(pair.RequestId);
    }

    public Task<ChannelSendResult> SendAsync(CodeDelivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var to = delivery.Email ?? throw new ArgumentException("An email is sent to the verification's address.", nameof(delivery));
        var pair = delivery.Repeatability ?? throw new ArgumentException("An email is sent with its operation id.", nameof(delivery));
        return sender.SendAsync(new EmailCodeMessage(delivery.VerificationId, to, delivery.Code, options.Value.Brand, delivery.ExpiresAt, pair.RequestId, pair.FirstSent, delivery.Locale), cancellationToken);
    }
}
