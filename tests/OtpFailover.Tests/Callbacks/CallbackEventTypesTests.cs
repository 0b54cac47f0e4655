using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.Tests.Callbacks;

/// <summary>Which timeline events a callback receiver hears of comes from the channels registered, not from a list.</summary>
public sealed class CallbackEventTypesTests
{
    [Fact]
    public void Types_WithWhatsAppAndSms_AreTheirSendsAndConfirmationsAndEveryEnding()
    {
        var events = EventsFor(
            (Channel.WhatsApp, [DeliveryStatus.Delivered, DeliveryStatus.Read, DeliveryStatus.Failed]),
            (Channel.Sms, [DeliveryStatus.Delivered, DeliveryStatus.Failed]));

        Assert.Equal(
            ["approved", "canceled", "expired", "failed", "failover", "max_attempts_reached", "sms.delivered", "sms.sent", "whatsapp.delivered", "whatsapp.read", "whatsapp.sent"],
            events.Types.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Types_FollowWhatTheRegisteredChannelsReport()
    {
        var events = EventsFor((Channel.Sms, [DeliveryStatus.Read]));

        Assert.Contains("sms.sent", events.Types);
        Assert.Contains("sms.read", events.Types);
        Assert.DoesNotContain("sms.delivered", events.Types);
        Assert.DoesNotContain("whatsapp.sent", events.Types);
        Assert.DoesNotContain("sms.failed", events.Types); // the failover or the ending after it says what it changed
    }

    [Fact]
    public void From_AFailoverThatDoesNotNameItsChannel_NamesThePlansLast()
    {
        // Rows from before plans recorded failovers without a channel.
        var events = EventsFor((Channel.WhatsApp, []), (Channel.Sms, []));
        var row = new VerificationEntity { PartitionKey = "v1", Plan = "sms,whatsapp" };

        var callback = events.From(row, 3, new TimelineEvent(TimelineEventTypes.Failover, DateTimeOffset.UnixEpoch, "timeout"));

        Assert.Equal(Channel.WhatsApp, callback!.Channel);
        Assert.Equal("timeout", callback.Reason);
    }

    [Fact]
    public void From_AFailoverOnARowFromBeforePlans_NamesSms()
    {
        var events = EventsFor((Channel.WhatsApp, []), (Channel.Sms, []));
        var row = new VerificationEntity { PartitionKey = "v1", Plan = string.Empty };

        var callback = events.From(row, 2, new TimelineEvent(TimelineEventTypes.Failover, DateTimeOffset.UnixEpoch, "failed"));

        Assert.Equal(Channel.Sms, callback!.Channel);
    }

    private static CallbackEvents EventsFor(params (Channel Channel, DeliveryStatus[] Reports)[] channels)
    {
        var services = new ServiceCollection();
        foreach (var (channel, reports) in channels)
        {
            services.AddKeyedSingleton<ICodeChannel>(channel, new ReportingChannel(channel, reports));
        }

        return new CallbackEvents(new CodeChannels(services.BuildServiceProvider()));
    }

    private sealed class ReportingChannel(Channel channel, DeliveryStatus[] reports) : ICodeChannel
    {
        public Channel Channel => channel;

        public RepeatSafety Safety => RepeatSafety.Repeatable;

        public bool Metered => false;

        public bool IsConfigured => true;

        public bool ReportsDelivery => true;

        public IReadOnlySet<DeliveryStatus> Reports { get; } = reports.ToHashSet();

        public FailoverWhen ConfirmedBy => FailoverWhen.Delivered;

        public TimeSpan? ConfirmWithin => null;

        public Task<ChannelSendResult> SendAsync(CodeDelivery delivery, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
