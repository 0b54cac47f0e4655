using OtpFailover.Channels;
using OtpFailover.Simulator;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Tests.Sms;
using OtpFailover.Tests.WhatsApp;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using static OtpFailover.Tests.Http.HttpTestRequests;

namespace OtpFailover.Tests.Durability;

/// <summary>
/// Storage (Azurite, holding the app's table and the durable task hub, reached through a proxy the test can cut) gone
/// for ten seconds in the middle of verifications: every connection drops and new ones are refused, as when the
/// storage account goes away, and then it is back. Nothing is lost, each ends right, no message is sent twice.
/// </summary>
public sealed class StorageOutageTests : IAsyncLifetime
{
    private readonly StorageProxy _storage = new();
    private WhatsAppCloudApiStandIn _graph = null!;
    private AcsSmsStandIn _acs = null!;

    public async Task InitializeAsync()
    {
        await Azurite.EnsureRunningAsync();
        _storage.Open();
        _graph = await WhatsAppStandIns.StartGraphApiAsync();
        _acs = await AcsStandIns.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _graph.DisposeAsync();
        await _acs.DisposeAsync();
        await _storage.DisposeAsync();
    }

    [Fact]
    public async Task StorageStoppedForTenSecondsMidFlow_EveryVerificationStillEndsRight_WithOneMessagePerChannel()
    {
        var app = await TestApp.StartAsync(
            o => (o.WhatsAppDeliveryTimeout, o.CodeLifetime) = (TimeSpan.FromSeconds(8), TimeSpan.FromMinutes(3)),
            backend: DurableBackend.AzureStorage,
            services: s =>
            {
                WhatsAppStandIns.UseCloudApi(s, _graph.BaseUrl);
                AcsStandIns.UseAcs(s, AcsStandIns.Settings(_acs));
            },
            storage: _storage.ConnectionString);
        var delivered = new[] { "+4915112345901", "+4915112345902" };
        var silent = new[] { "+4915112345903", "+4915112345904" };
        var ids = new Dictionary<string, string>();
        foreach (var number in delivered.Concat(silent))
        {
            ids[number] = (await app.StartAsync(number)).Id;
        }

        await Eventually.WaitUntilAsync(() => _graph.Received.Count >= 4, TimeSpan.FromSeconds(30), "every WhatsApp message");
        foreach (var id in ids.Values)
        {
            await Eventually.WaitUntilAsync(async () => (await app.GetAsync(id)).SendOn(Channel.WhatsApp)?.MessageId is not null, TimeSpan.FromSeconds(30), $"{id} to record its WhatsApp message");
        }

        // Storage goes away while every workflow waits for its delivery status, and comes back ten seconds later,
        // after the silent ones' delivery timeout has passed.
        _storage.Cut();
        await Task.Delay(TimeSpan.FromSeconds(10));
        _storage.Open();

        foreach (var number in delivered)
        {
            await DeliveredAsync(app, ids[number]);
        }

        await Eventually.WaitUntilAsync(() => _acs.Sent.Count >= silent.Length, TimeSpan.FromSeconds(90), "the SMS for the silent numbers");
        foreach (var (number, id) in ids)
        {
            var code = _graph.Received.Single(r => r.CallbackData == $"v1:{id}").BodyCode;
            Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(id, code, app.Client, default)).Outcome);
            Assert.Equal(VerificationStatus.Approved, (await app.WaitForCompletionAsync(id)).ReadOutputAs<VerificationStatus>());
            var timeline = (await app.GetAsync(id)).Timeline.Select(e => e.Type).ToList();
            Assert.Equal(silent.Contains(number), timeline.Contains(TimelineEventTypes.SmsSent));
            Assert.Contains(TimelineEventTypes.WhatsAppSent, timeline);
        }

        Assert.Equal(4, _graph.Received.Count);
        Assert.Equal(silent.Order(StringComparer.Ordinal), _acs.Sent.Select(s => s.To).Order(StringComparer.Ordinal));
        Assert.Empty(await NumbersInFlight.ListAsync(app.Table));
        await app.DisposeAsync();
    }

    private async Task DeliveredAsync(TestApp app, string id)
    {
        var wamid = _graph.Received.Single(r => r.CallbackData == $"v1:{id}").MessageId;
        var body = WhatsAppNotifications.Build([new WhatsAppNotifications.Status(wamid, "delivered", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), $"v1:{id}")]);
        var response = await ExecuteAsync(await app.WhatsAppWebhook.NotifyAsync(body, WhatsAppSignature.Compute(body, TestSecrets.AppSecret), app.Client, default));
        Assert.Equal(200, response.Status);
    }
}
