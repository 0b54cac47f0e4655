using Microsoft.DurableTask.Client;
using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.WhatsApp;

public static class WhatsAppStatuses
{
    /// <summary>Records a WhatsApp message status on its verification (see <see cref="VerificationService.ApplyDeliveryAsync"/>).</summary>
    public static Task<StatusUpdateOutcome> ApplyWhatsAppStatusAsync(this VerificationService verifications, string id, DeliveryStatus status, DateTimeOffset at, string? detail, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(verifications);
        return verifications.ApplyDeliveryAsync(id, Channel.WhatsApp, status, at, detail, durable, cancellationToken);
    }
}
