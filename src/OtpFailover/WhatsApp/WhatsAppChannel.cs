using Microsoft.Extensions.Options;
using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.WhatsApp;

/// <summary>WhatsApp as a channel: sent once (WhatsApp cannot de-duplicate), and not metered by the SMS limits.</summary>
public sealed class WhatsAppChannel(IWhatsAppCodeSender sender, IOptions<VerificationOptions> options) : ICodeChannel
{
    public Channel Channel => Channel.WhatsApp;

    public RepeatSafety Safety => RepeatSafety.SendOnce;

    public bool Metered => false;

    public bool IsConfigured => sender.IsConfigured;

    public bool ReportsDelivery => true;

    /// <summary>Meta's status webhook says delivered, read (unless the user turned read receipts off) or failed.</summary>
    public IReadOnlySet<DeliveryStatus> Reports { get; } = new HashSet<DeliveryStatus> { DeliveryStatus.Delivered, DeliveryStatus.Read, DeliveryStatus.Failed };

    /// <summary><c>delivered</c> or <c>read</c>, or only <c>read</c> (<c>Verification:FailoverWhen</c>).</summary>
    public FailoverWhen ConfirmedBy => options.Value.FailoverWhen;

    public TimeSpan? ConfirmWithin => options.Value.WhatsAppDeliveryTimeout;

    public Task<ChannelSendResult> SendAsync(CodeDelivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        return sender.SendAsync(new WhatsAppCodeMessage(delivery.VerificationId, delivery.To, delivery.Code, delivery.ExpiresAt, delivery.Locale), cancellationToken);
    }
}
