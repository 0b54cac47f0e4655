using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.WhatsApp;

/// <summary>WhatsApp as a channel: sent once (WhatsApp cannot de-duplicate), and not metered by the SMS limits.</summary>
public sealed class WhatsAppChannel(IWhatsAppCodeSender sender) : ICodeChannel
{
    public Channel Channel => Channel.WhatsApp;

    public RepeatSafety Safety => RepeatSafety.SendOnce;

    public bool Metered => false;

    public bool IsConfigured => sender.IsConfigured;

    public Task<ChannelSendResult> SendAsync(CodeDelivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        return sender.SendAsync(new WhatsAppCodeMessage(delivery.VerificationId, delivery.To, delivery.Code, delivery.ExpiresAt, delivery.Locale), cancellationToken);
    }
}
