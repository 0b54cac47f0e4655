using Microsoft.Extensions.Options;
using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.Sms;

/// <summary>SMS as a channel: repeatable (ACS de-duplicates a repeatability pair) and metered by the SMS limits.</summary>
public sealed class SmsChannel(ISmsCodeSender sender, IOptions<VerificationOptions> options) : ICodeChannel
{
    public Channel Channel => Channel.Sms;

    public RepeatSafety Safety => RepeatSafety.Repeatable;

    public bool Metered => true;

    public bool IsConfigured => sender.IsConfigured;

    /// <summary>Delivery reports are optional (an Event Grid subscription) and often late or missing.</summary>
    public bool ReportsDelivery => false;

    /// <summary>ACS delivery reports say delivered or failed; SMS has no read receipt.</summary>
    public IReadOnlySet<DeliveryStatus> Reports { get; } = new HashSet<DeliveryStatus> { DeliveryStatus.Delivered, DeliveryStatus.Failed };

    /// <summary>A <c>Delivered</c> delivery report.</summary>
    public FailoverWhen ConfirmedBy => FailoverWhen.Delivered;

    public TimeSpan? ConfirmWithin => options.Value.SmsDeliveryTimeout;

    public Task<ChannelSendResult> SendAsync(CodeDelivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var pair = delivery.Repeatability ?? throw new ArgumentException("An SMS is sent with its repeatability pair.", nameof(delivery));
        return sender.SendAsync(
            new SmsCodeMessage(delivery.VerificationId, delivery.To, delivery.Code, options.Value.Brand, delivery.ExpiresAt, pair.RequestId, pair.FirstSent, delivery.Locale),
            cancellationToken);
    }
}
