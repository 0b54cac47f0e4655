using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using OtpFailover.Retention;

namespace OtpFailover.Functions.Maintenance;

/// <summary>The daily purge of ended verifications (schedule: <c>Retention:Schedule</c>). The logic is <see cref="RetentionService"/>.</summary>
public sealed class RetentionFunction(RetentionService retention)
{
    [Function(nameof(PurgeEndedVerifications))]
    public Task PurgeEndedVerifications(
        [TimerTrigger("%Retention:Schedule%")] TimerInfo timer,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        retention.PurgeAsync(durable, cancellationToken);
}
