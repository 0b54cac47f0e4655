using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Channels;
using OtpFailover.PhoneNumbers;
using OtpFailover.Simulator;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;

namespace OtpFailover.Tests.WhatsApp;

/// <summary>The Cloud API sender over real HTTP against a local Graph API that checks what Meta checks.</summary>
public sealed class WhatsAppCloudApiSenderTests : IAsyncLifetime
{
    private WhatsAppCloudApiStandIn _graph = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _graph = await WhatsAppStandIns.StartGraphApiAsync();
        _services = Build(_graph.BaseUrl);
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _graph.DisposeAsync();
    }

    private static ServiceProvider Build(Uri baseUrl, TimeSpan? requestTimeout = null)
    {
        var services = new ServiceCollection().AddLogging().AddSingleton(TimeProvider.System);
        WhatsAppStandIns.UseCloudApi(services, baseUrl, requestTimeout);
        return services.BuildServiceProvider();
    }

    private static WhatsAppCodeMessage Message(string id = "0f8fad5bd9cb469fa16570867728950e")
    {
        Assert.True(PhoneNumber.TryParse("+14155550123", out var to));
        return new WhatsAppCodeMessage(id, to, "482913", DateTimeOffset.UtcNow.AddMinutes(10));
    }

    private Task<ChannelSendResult> SendAsync(ServiceProvider? services = null) =>
        (services ?? _services).GetRequiredService<IWhatsAppCodeSender>().SendAsync(Message(), CancellationToken.None);

    [Fact]
    public async Task Success_SendsTheAuthenticationTemplate_AndReturnsTheMessageId()
    {
        var result = await SendAsync();

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        var received = Assert.Single(_graph.Received);
        Assert.Equal(received.MessageId, result.ProviderMessageId);
        Assert.StartsWith("wamid.", result.ProviderMessageId);
        Assert.Equal("14155550123", received.To);
        Assert.Equal("482913", received.BodyCode);
        Assert.Equal("482913", received.ButtonCode);
        Assert.Equal("v1:0f8fad5bd9cb469fa16570867728950e", received.CallbackData);
        using var json = JsonDocument.Parse(received.RawJson);
        Assert.Equal("whatsapp", json.RootElement.GetProperty("messaging_product").GetString());
        Assert.Equal("individual", json.RootElement.GetProperty("recipient_type").GetString());
        Assert.Equal("template", json.RootElement.GetProperty("type").GetString());
        Assert.Equal("en_US", json.RootElement.GetProperty("template").GetProperty("language").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Undeliverable131026_IsRefusedAtOnce_WithoutRetrying()
    {
        _graph.Answer = (_, _) => StandInAnswer.GraphError(400, 131026, "Message undeliverable");

        var result = await SendAsync();

        Assert.Equal(SendOutcome.Rejected, result.Outcome);
        Assert.Equal("whatsapp_131026_undeliverable", result.Detail);
        Assert.Equal(1, _graph.Calls);
    }

    [Theory]
    [InlineData(132001, "whatsapp_132001_template_missing")]
    [InlineData(190, "whatsapp_190_access_token_expired")]
    [InlineData(131049, "whatsapp_131049_ecosystem_block")]
    public async Task PermanentErrors_AreRefusedAtOnce(int code, string detail)
    {
        _graph.Answer = (_, _) => StandInAnswer.GraphError(400, code, "refused");

        var result = await SendAsync();

        Assert.Equal(detail, result.Detail);
        Assert.Equal(1, _graph.Calls);
    }

    [Fact]
    public async Task ThroughputLimit130429_ThenSuccess_IsRetriedAndAccepted()
    {
        _graph.Answer = (_, call) => call == 0 ? StandInAnswer.GraphError(400, 130429, "Rate limit hit") : StandInAnswer.Accept;

        var result = await SendAsync();

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(2, _graph.Calls);
        Assert.Equal(_graph.Received[1].MessageId, result.ProviderMessageId);
    }

    [Theory]
    [InlineData(4, "whatsapp_4_app_rate_limit")]
    [InlineData(80007, "whatsapp_80007_waba_rate_limit")]
    [InlineData(131056, "whatsapp_131056_pair_rate_limit")]
    public async Task RateLimitRefusals_ProveNothingWasSent_AndAreRetriedUntilTheBudgetRunsOut(int code, string detail)
    {
        _graph.Answer = (_, _) => StandInAnswer.GraphError(400, code, "rate limited");

        var result = await SendAsync();

        Assert.Equal(SendOutcome.Rejected, result.Outcome);
        Assert.Equal(detail, result.Detail);
        Assert.Equal(3, _graph.Calls);
    }

    [Fact]
    public async Task A429WithoutAnErrorCode_IsARefusal_AndIsRetried()
    {
        _graph.Answer = (_, call) => call == 0 ? StandInAnswer.BareStatus(429) : StandInAnswer.Accept;

        var result = await SendAsync();

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(2, _graph.Calls);
    }

    [Theory]
    [InlineData(503, null)]
    [InlineData(500, null)]
    [InlineData(500, 1)]
    [InlineData(400, 1)]
    [InlineData(503, 2)]
    public async Task AnswersThatDoNotProveARefusal_AreAnUnknownOutcome_AndAreNeverRepeated(int status, int? code)
    {
        _graph.Answer = (_, _) => code is { } c ? StandInAnswer.GraphError(status, c, "unknown") : StandInAnswer.BareStatus(status);

        var result = await SendAsync();

        Assert.Equal(SendOutcome.Unknown, result.Outcome);
        Assert.Equal(1, _graph.Calls);
    }

    [Fact]
    public async Task ADroppedConnection_IsAnUnknownOutcome_AndIsNotRepeated()
    {
        _graph.Answer = (_, _) => StandInAnswer.Dropped;

        var result = await SendAsync();

        Assert.Equal(SendOutcome.Unknown, result.Outcome);
        Assert.Equal(WhatsAppCloudApiSender.OutcomeUnknown, result.Detail);
        Assert.Equal(1, _graph.Calls);
    }

    [Fact]
    public async Task AHangingResponse_IsAnUnknownOutcome_AndIsNotRepeated()
    {
        _graph.Answer = (_, _) => StandInAnswer.Hanging;
        await using var services = Build(_graph.BaseUrl, requestTimeout: TimeSpan.FromSeconds(1));
        var clock = Stopwatch.StartNew();

        var result = await SendAsync(services);

        Assert.Equal(SendOutcome.Unknown, result.Outcome);
        Assert.Equal(WhatsAppCloudApiSender.OutcomeUnknown, result.Detail);
        Assert.Equal(1, _graph.Calls);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"The send took {clock.Elapsed}.");
    }

    [Fact]
    public async Task AWrongAccessToken_IsRefusedByTheStandIn_AsMetaWould()
    {
        var services = new ServiceCollection().AddLogging().AddSingleton(TimeProvider.System);
        WhatsAppStandIns.UseCloudApi(services, _graph.BaseUrl);
        services.PostConfigure<WhatsAppOptions>(o => o.AccessToken = "someone-elses-token");
        await using var provider = services.BuildServiceProvider();

        var result = await SendAsync(provider);

        Assert.Equal("whatsapp_190_access_token_expired", result.Detail);
        Assert.Empty(_graph.Received);
    }

    [Fact]
    public async Task NobodyListening_IsRetried_ThenRefusedAsUnreachable()
    {
        var port = AzureStorageDurableHost.FreeLoopbackPort();
        await using var services = Build(new Uri($"http://127.0.0.1:{port}/"));

        var result = await SendAsync(services);

        Assert.Equal(SendOutcome.Rejected, result.Outcome);
        Assert.Equal("whatsapp_unreachable", result.Detail);
    }
}
