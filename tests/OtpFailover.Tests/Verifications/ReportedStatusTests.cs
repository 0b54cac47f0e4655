using OtpFailover.Channels;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Verifications;

/// <summary>A channel's row records only the statuses its provider reports (<see cref="ICodeChannel.Reports"/>).</summary>
public sealed class ReportedStatusTests
{
    /// <summary>
    /// SMS has no read receipt. A <c>read</c> for it could only come from a caller that is not its webhook, and it would
    /// confirm delivery (and wake the workflow) with an event no callback receiver is ever told about.
    /// </summary>
    [Fact]
    public async Task AStatusTheChannelsProviderNeverReports_ChangesNothing()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "sms");
        var verification = await app.StartAsync("+14155550123");
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);

        var read = await app.Verifications.ApplyDeliveryAsync(verification.Id, Channel.Sms, DeliveryStatus.Read, DateTimeOffset.UtcNow, null, app.Client, default);
        var delivered = await app.Verifications.ApplyDeliveryAsync(verification.Id, Channel.Sms, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default);

        Assert.Equal(StatusUpdateOutcome.Unchanged, read);
        Assert.Equal(StatusUpdateOutcome.Applied, delivered);
        var stored = await app.GetAsync(verification.Id);
        Assert.DoesNotContain(stored.Timeline, e => e.Type == "sms.read");
        Assert.Equal(DeliveryStatus.Delivered, stored.SendOn(Channel.Sms)!.Delivery);
    }
}
