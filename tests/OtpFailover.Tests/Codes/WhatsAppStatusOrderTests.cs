using OtpFailover.Channels;
using OtpFailover.Verifications;
using static OtpFailover.Channels.DeliveryStatus;

namespace OtpFailover.Tests.Codes;

public sealed class WhatsAppStatusOrderTests
{
    [Theory]
    [InlineData(None, Sent, true)]
    [InlineData(Sent, Delivered, true)]
    [InlineData(Sent, Read, true)]
    [InlineData(None, Read, true)]
    [InlineData(Delivered, Read, true)]
    [InlineData(None, Failed, true)]
    [InlineData(Sent, Failed, true)]
    [InlineData(Delivered, Delivered, false)]
    [InlineData(Read, Delivered, false)]
    [InlineData(Delivered, Sent, false)]
    [InlineData(Delivered, Failed, false)]
    [InlineData(Read, Failed, false)]
    [InlineData(Failed, Delivered, false)]
    [InlineData(Failed, Read, false)]
    [InlineData(Failed, Failed, false)]
    [InlineData(Sent, None, false)]
    public void IsAdvance_MovesOnlyForward_AndFailedOnlyBeforeDelivery(DeliveryStatus current, DeliveryStatus next, bool expected)
    {
        Assert.Equal(expected, VerificationService.IsAdvance(current, next));
    }
}
