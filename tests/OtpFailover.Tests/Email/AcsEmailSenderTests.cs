using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Channels;
using OtpFailover.DependencyInjection;
using OtpFailover.Email;
using OtpFailover.EmailAddresses;
using OtpFailover.Simulator;
using OtpFailover.Tests.Sms;

namespace OtpFailover.Tests.Email;

/// <summary>The app's ACS Email client over real HTTP, against a stand-in that checks what the service checks.</summary>
public sealed class AcsEmailSenderTests : IAsyncLifetime
{
    private AcsEmailStandIn _acs = null!;

    public async Task InitializeAsync() => _acs = await new AcsEmailStandIn(AcsStandIns.AccessKey).StartAsync();

    public async Task DisposeAsync() => await _acs.DisposeAsync();

    internal static Dictionary<string, string?> Settings(AcsEmailStandIn acs) => new()
    {
        ["Email:ConnectionString"] = acs.ConnectionString,
        ["Email:From"] = "DoNotReply@contoso.example",
        ["Email:RequestTimeout"] = "00:00:05",
    };

    private ServiceProvider Build()
    {
        var services = new ServiceCollection().AddLogging().AddSingleton(TimeProvider.System);
        services.AddAcsEmail(new ConfigurationBuilder().AddInMemoryCollection(Settings(_acs)).Build());
        return services.BuildServiceProvider();
    }

    private static EmailCodeMessage Message(Guid? operationId = null, string? locale = null)
    {
        Assert.True(EmailAddress.TryParse("ana@example.com", out var to));
        var now = DateTimeOffset.UtcNow;
        return new EmailCodeMessage("0f8fad5bd9cb469fa16570867728950e", to, "482913", "Contoso", now.AddMinutes(10), operationId ?? Guid.NewGuid(), now, locale);
    }

    private static Task<ChannelSendResult> SendAsync(ServiceProvider services, EmailCodeMessage message) =>
        services.GetRequiredService<IEmailCodeSender>().SendAsync(message, CancellationToken.None);

    [Fact]
    public async Task Success_IsSignedAsTheServiceChecks_AndSendsTheCodeInSubjectTextAndHtml_WithoutALink()
    {
        await using var services = Build();
        var message = Message();

        var result = await SendAsync(services, message);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(message.OperationId.ToString(), result.ProviderMessageId);
        var sent = Assert.Single(_acs.Sent);
        Assert.Equal(0, _acs.Unauthenticated);
        Assert.Equal(("DoNotReply@contoso.example", "ana@example.com", message.OperationId.ToString()), (sent.From, sent.To, sent.OperationId));
        Assert.Equal("482913 is your Contoso verification code", sent.Subject);
        Assert.Contains("\n482913\n", sent.PlainText, StringComparison.Ordinal);
        Assert.Contains("It expires in 10 minutes.", sent.PlainText, StringComparison.Ordinal);
        Assert.Contains(">482913</p>", sent.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("href", sent.Html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http", sent.PlainText, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task TheEmail_IsInTheVerificationsLanguage()
    {
        await using var services = Build();

        await SendAsync(services, Message(locale: "pt-BR"));

        Assert.Equal("482913 é o seu código de verificação Contoso", Assert.Single(_acs.Sent).Subject);
    }

    [Fact]
    public async Task ARepeatedSend_WithTheSameOperationId_IsAnsweredWithoutASecondEmail()
    {
        await using var services = Build();
        var message = Message();

        var first = await SendAsync(services, message);
        var repeat = await SendAsync(services, message with { });

        Assert.Equal((SendOutcome.Accepted, SendOutcome.Accepted), (first.Outcome, repeat.Outcome));
        Assert.Single(_acs.Sent);
        Assert.Equal(2, _acs.Calls);
    }

    [Fact]
    public async Task ARepeatOutsideTheRepeatabilityWindow_IsRefused_AndLeavesTheOutcomeUnknown_NeverASecondEmail()
    {
        await using var services = Build();
        var message = Message();
        await SendAsync(services, message);
        _acs.Time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow.AddMinutes(6));

        var repeat = await SendAsync(services, message);

        Assert.Equal(SendOutcome.Unknown, repeat.Outcome);
        Assert.Equal("email_repeatability_rejected", repeat.Detail);
        Assert.Single(_acs.Sent);
    }

    [Fact]
    public async Task Throttled429_ThenAccepted_SendsOneEmail()
    {
        _acs.Answer = call => call == 0 ? AcsAnswer.Throttled(TimeSpan.FromSeconds(1)) : AcsAnswer.Accept;
        await using var services = Build();

        var result = await SendAsync(services, Message());

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(2, _acs.Calls);
        Assert.Single(_acs.Sent);
    }

    [Fact]
    public async Task AnAnswerLostAfterTheEmailWasQueued_IsRetried_AndTheUserGetsOneEmail()
    {
        _acs.Answer = call => call == 0 ? AcsAnswer.SendThenDrop : AcsAnswer.Accept;
        await using var services = Build();

        var result = await SendAsync(services, Message());

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Single(_acs.Sent);
    }

    [Fact]
    public async Task ABadRequest_IsARefusalOfTheRequest_AndNotRetried()
    {
        _acs.Answer = _ => AcsAnswer.Status(400);
        await using var services = Build();

        var result = await SendAsync(services, Message());

        Assert.Equal(SendOutcome.Rejected, result.Outcome);
        Assert.True(result.RefusesRequest);
        Assert.Equal("email_http_400", result.Detail);
        Assert.Equal(1, _acs.Calls);
    }

    [Fact]
    public async Task AWrongAccessKey_IsRefusedByTheSignatureCheck()
    {
        await using var other = await new AcsEmailStandIn(new byte[32]).StartAsync();
        var services = new ServiceCollection().AddLogging().AddSingleton(TimeProvider.System);
        services.AddAcsEmail(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>(Settings(other)) { ["Email:ConnectionString"] = $"endpoint={other.Endpoint};accesskey={Convert.ToBase64String(AcsStandIns.AccessKey)}" }).Build());
        await using var provider = services.BuildServiceProvider();

        var result = await SendAsync(provider, Message());

        Assert.Equal(SendOutcome.Rejected, result.Outcome);
        Assert.Equal("email_http_401", result.Detail);
        Assert.Empty(other.Sent);
        Assert.Equal(1, other.Unauthenticated);
    }
}
