using Microsoft.DurableTask.Client;
using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.Tests.Infrastructure;

/// <summary>A provider's status report as the tests apply it, as the webhook handlers would after their checks.</summary>
public static class StatusReports
{
    /// <summary>A WhatsApp message status.</summary>
    public static Task<StatusUpdateOutcome> ApplyWhatsAppStatusAsync(this VerificationService verifications, string id, DeliveryStatus status, DateTimeOffset at, string? detail, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(verifications);
        return verifications.ApplyDeliveryAsync(id, Channel.WhatsApp, status, at, detail, durable, cancellationToken);
    }

    /// <summary>An ACS SMS delivery report: the first one counts, as <c>delivered</c> or <c>failed</c>.</summary>
    public static Task<StatusUpdateOutcome> ApplySmsDeliveryReportAsync(this VerificationService verifications, string id, bool delivered, DateTimeOffset at, string? detail, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(verifications);
        return verifications.ApplyDeliveryAsync(id, Channel.Sms, delivered ? DeliveryStatus.Delivered : DeliveryStatus.Failed, at, detail, durable, cancellationToken);
    }
}
