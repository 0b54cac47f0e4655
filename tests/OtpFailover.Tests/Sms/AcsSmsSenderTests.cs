using System.Text.Json;
using Azure.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.AzureCommunication;
using OtpFailover.Channels;
using OtpFailover.DependencyInjection;
using OtpFailover.PhoneNumbers;
using OtpFailover.Simulator;
using OtpFailover.Sms;
using OtpFailover.Verifications;

namespace OtpFailover.Tests.Sms;

/// <summary>The ACS SMS client over real HTTP against a local endpoint that checks signatures as the service does.</summary>
public sealed class AcsSmsSenderTests : IAsyncLifetime
{
    private AcsSmsStandIn _acs = null!;

    public async Task InitializeAsync() => _acs = await AcsStandIns.StartAsync();

    public async Task DisposeAsync() => await _acs.DisposeAsync();

    private ServiceProvider Build(Dictionary<string, string?>? settings = null, TokenCredential? credential = null, TimeProvider? time = null)
    {
        var services = new ServiceCollection().AddLogging().AddSingleton(time ?? TimeProvider.System);
        if (credential is not null)
        {
            services.AddSingleton(credential);
        }

        AcsStandIns.UseAcs(services, settings ?? AcsStandIns.Settings(_acs));
        return services.BuildServiceProvider();
    }

    private static SmsCodeMessage Message(Guid? repeatabilityId = null)
    {
        Assert.True(PhoneNumber.TryParse("+14255550123", out var to));
        return new SmsCodeMessage("0f8fad5bd9cb469fa16570867728950e", to, "482913", "Contoso", DateTimeOffset.UtcNow.AddMinutes(10), repeatabilityId ?? Guid.NewGuid(), DateTimeOffset.UtcNow);
    }

    private static Task<ChannelSendResult> SendAsync(ServiceProvider services, SmsCodeMessage? message = null) =>
        services.GetRequiredService<ISmsCodeSender>().SendAsync(message ?? Message(), CancellationToken.None);

    [Fact]
    public async Task Success_IsSignedAsTheServiceChecks_AndSendsTheCodeWithTagAndDeliveryReport()
    {
        await using var services = Build();
        var message = Message();

        var result = await SendAsync(services, message);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        var sent = Assert.Single(_acs.Sent);
        Assert.Equal(sent.MessageId, result.ProviderMessageId);
        Assert.Equal("+18005550100", sent.From);
        Assert.Equal("+14255550123", sent.To);
        Assert.Equal("482913 is your Contoso verification code. It expires in 10 minutes.", sent.Message);
        Assert.Equal("v1:0f8fad5bd9cb469fa16570867728950e", sent.Tag);
        Assert.True(sent.DeliveryReport);
        Assert.Equal(message.RepeatabilityRequestId.ToString(), sent.RepeatabilityRequestId);
        Assert.Equal(AcsHmacSigning.FormatDate(message.RepeatabilityFirstSent), sent.RepeatabilityFirstSent);
        Assert.Equal(0, _acs.Unauthenticated);
    }

    [Fact]
    public async Task AWrongAccessKey_IsRefusedByTheSignatureCheck_AndNotRetried()
    {
        var wrong = $"endpoint={_acs.Endpoint};accesskey={Convert.ToBase64String(new byte[32])}";
        await using var services = Build(AcsStandIns.Settings(_acs, connectionString: wrong));

        var result = await SendAsync(services);

        Assert.Equal("sms_http_401", result.Detail);
        Assert.Equal(1, _acs.Unauthenticated);
        Assert.Empty(_acs.Sent);
    }

    [Fact]
    public async Task AnEntraIdToken_ForTheCommunicationScope_Authenticates()
    {
        var credential = new StaticCredential("entra-token-for-tests");
        await using var services = Build(AcsStandIns.Settings(_acs, entra: true), credential);

        var result = await SendAsync(services);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(["https://communication.azure.com//.default"], credential.Scopes);
        Assert.Single(_acs.Sent);
    }

    [Fact]
    public async Task ARecipientLevelFailureInsideA202_IsAFailedSend()
    {
        _acs.Answer = _ => AcsAnswer.RecipientFailure(400, "Invalid To phone number format.");
        await using var services = Build();

        var result = await SendAsync(services);

        Assert.Equal(SendOutcome.Rejected, result.Outcome);
        Assert.Equal("sms_recipient_400", result.Detail);
        Assert.Equal(1, _acs.Calls);
    }

    [Fact]
    public async Task Throttled429_ThenSuccess_SendsOneSms()
    {
        _acs.Answer = call => call == 0 ? AcsAnswer.Status(429) : AcsAnswer.Accept;
        await using var services = Build();

        var result = await SendAsync(services);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(2, _acs.Calls);
        Assert.Single(_acs.Sent);
    }

    [Fact]
    public async Task ServerErrors_UntilTheBudgetRunsOut_AreAFailedSend()
    {
        _acs.Answer = _ => AcsAnswer.Status(503);
        await using var services = Build();

        var result = await SendAsync(services);

        Assert.Equal("sms_http_503", result.Detail);
        Assert.Equal(4, _acs.Calls);
        Assert.Empty(_acs.Sent);
    }

    [Fact]
    public async Task ARepeatedSend_WithTheSameRepeatabilityPair_IsAnsweredWithoutASecondSms()
    {
        await using var services = Build();
        var message = Message();

        var first = await SendAsync(services, message);
        var again = await SendAsync(services, message);

        Assert.Equal(SendOutcome.Accepted, again.Outcome);
        Assert.Equal(first.ProviderMessageId, again.ProviderMessageId);
        Assert.Single(_acs.Sent);
        Assert.Equal(2, _acs.Calls);
    }

    [Fact]
    public async Task AResponseLostAfterTheSmsWentOut_IsRetried_AndTheUserGetsOneSms()
    {
        _acs.Answer = call => call == 0 ? AcsAnswer.SendThenHang : AcsAnswer.Accept;
        await using var services = Build(AcsStandIns.Settings(_acs, requestTimeout: TimeSpan.FromSeconds(1)));

        var result = await SendAsync(services);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(2, _acs.Calls);
        Assert.Equal(Assert.Single(_acs.Sent).MessageId, result.ProviderMessageId);
    }

    [Fact]
    public async Task ASendRepeatedMinutesLater_IsByteIdenticalToTheFirst_SoTheServiceAnswersWithoutASecondSms()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var services = Build(time: time);
        var now = time.GetUtcNow();
        var message = new SmsCodeMessage("0f8fad5bd9cb469fa16570867728950e", Message().To, "482913", "Contoso", now.AddMinutes(10), Guid.NewGuid(), now);
        var first = await SendAsync(services, message);

        time.Advance(TimeSpan.FromMinutes(3));
        var repeated = await SendAsync(services, message);

        Assert.Equal(SendOutcome.Accepted, repeated.Outcome);
        Assert.Equal(first.ProviderMessageId, repeated.ProviderMessageId);
        Assert.Single(_acs.Sent);
        Assert.Equal(2, _acs.Requests.Count);
        Assert.Equal(_acs.Requests[0], _acs.Requests[1]);
        Assert.Contains("expires in 10 minutes", _acs.Sent[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARepeatabilityRejection_MeansPerhapsSent_NeverRefused()
    {
        await using var services = Build();
        var now = DateTimeOffset.UtcNow;
        var late = new SmsCodeMessage("0f8fad5bd9cb469fa16570867728950e", Message().To, "482913", "Contoso", now.AddMinutes(2), Guid.NewGuid(), now.AddMinutes(-8));

        var result = await SendAsync(services, late);

        Assert.Equal(SendOutcome.Unknown, result.Outcome);
        Assert.Equal("sms_repeatability_rejected", result.Detail);
        Assert.Equal(1, _acs.Calls);
        Assert.Empty(_acs.Sent);
    }

    public static TheoryData<string, string> MaybeSentSequences => new()
    {
        // A first attempt that may have reached the service, then the circuit breaker refusing the rest.
        { "timeout, circuit-open", "sms_circuit_open" },
        // Accepted, but the answer cannot be read, every time.
        { "202-unreadable, 202-unreadable, 202-unreadable, 202-unreadable", "sms_unreadable_response" },
        // The gateway gave up waiting for the service behind it.
        { "504, 504, 504, 504", "sms_http_504" },
        // Lost, then the service unavailable for the rest.
        { "timeout, 503, 503, 503", "sms_http_503" },
    };

    [Theory]
    [MemberData(nameof(MaybeSentSequences))]
    public async Task AnswersThatDoNotProveNothingWentOut_AreUnknown_NeverRefused(string sequence, string detail)
    {
        var (result, unused) = await SendScriptedAsync(sequence);

        Assert.Equal(SendOutcome.Unknown, result.Outcome);
        Assert.Equal(detail, result.Detail);
        Assert.Equal(0, unused);
    }

    [Theory]
    [InlineData("503, 503, 503, 503", "sms_http_503")]
    [InlineData("timeout, 400", "sms_http_400")]
    [InlineData("429, recipient-400", "sms_recipient_400")]
    public async Task AnswersThatRefuseTheRequest_AreRefusals(string sequence, string detail)
    {
        var (result, _) = await SendScriptedAsync(sequence);

        Assert.Equal(SendOutcome.Rejected, result.Outcome);
        Assert.Equal(detail, result.Detail);
    }

    /// <returns>What the sender made of the scripted answers, and how many answers it did not ask for.</returns>
    private static async Task<(ChannelSendResult Result, int Unused)> SendScriptedAsync(string sequence)
    {
        var answers = new Queue<string>(sequence.Split(", "));
        using var http = new HttpClient(new ScriptedHandler(answers)) { BaseAddress = new Uri("https://contoso.communication.azure.com/") };
        var sender = new AcsSmsSender(http, Microsoft.Extensions.Options.Options.Create(new SmsOptions { From = "+18005550100", MaxSendAttempts = 4 }), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<AcsSmsSender>.Instance);
        return (await sender.SendAsync(Message(), CancellationToken.None), answers.Count);
    }

    /// <summary>
    /// Answers each attempt as scripted: what a circuit breaker, a gateway or a lost response look like to the sender
    /// (the stand-in cannot open a breaker or lose a 202's body on demand).
    /// </summary>
    private sealed class ScriptedHandler(Queue<string> answers) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => answers.Dequeue() switch
        {
            "timeout" => throw new Polly.Timeout.TimeoutRejectedException(),
            "circuit-open" => throw new Polly.CircuitBreaker.BrokenCircuitException(),
            "202-unreadable" => Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.Accepted) { Content = new StringContent("<html>", System.Text.Encoding.UTF8, "text/html") }),
            "recipient-400" => Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.Accepted) { Content = new StringContent("""{"value":[{"to":"+14255550123","httpStatusCode":400,"successful":false,"errorMessage":"Invalid To phone number format."}]}""", System.Text.Encoding.UTF8, "application/json") }),
            var status => Task.FromResult(new HttpResponseMessage((System.Net.HttpStatusCode)int.Parse(status, System.Globalization.CultureInfo.InvariantCulture))),
        };
    }

    private sealed class StaticCredential(string token) : TokenCredential
    {
        public List<string> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Scopes.AddRange(requestContext.Scopes);
            return new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
