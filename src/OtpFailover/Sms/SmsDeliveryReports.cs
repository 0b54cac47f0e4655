using Microsoft.DurableTask.Client;
using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.Sms;

public static class SmsDeliveryReports
{
    /// <summary>
    /// Records an SMS delivery report on its verification (see <see cref="VerificationService.ApplyDeliveryAsync"/>):
    /// the first one counts, as <c>delivered</c> or <c>failed</c>.
    /// </summary>
    public static Task<StatusUpdateOutcome> ApplySmsDeliveryReportAsync(this VerificationService verifications, string id, bool delivered, DateTimeOffset at, string? detail, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(verifications);
        return verifications.ApplyDeliveryAsync(id, Channel.Sms, delivered ? DeliveryStatus.Delivered : DeliveryStatus.Failed, at, detail, durable, cancellationToken);
    }
}
