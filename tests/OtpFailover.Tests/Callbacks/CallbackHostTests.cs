using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Callbacks;
using OtpFailover.Tests.Infrastructure;
using static OtpFailover.Tests.Http.HttpTestRequests;

namespace OtpFailover.Tests.Callbacks;

/// <summary>
/// Where callbacks may go: allowed-host entries read the way URLs are (punycode, IPv6 in brackets), wildcards that
/// match by label, and the addresses a listed name resolves to, judged at connect time.
/// </summary>
public sealed class CallbackHostTests
{
    private const string SigningKey = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    private static CallbackUrlPolicy Policy(string allowedHosts, string environment = "Production") =>
        new(Microsoft.Extensions.Options.Options.Create(new CallbackOptions { SigningKey = SigningKey, AllowedHosts = allowedHosts }), Configuration(environment));

    private static IConfiguration Configuration(string environment) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AZURE_FUNCTIONS_ENVIRONMENT"] = environment }).Build();

    [Theory]
    [InlineData("[2001:db8::10]:8443", "https://[2001:db8::10]:8443/otp")]
    [InlineData("[2001:DB8::10]", "https://[2001:db8::10]/otp")]
    [InlineData("bücher.example", "https://bücher.example/otp")]
    [InlineData("bücher.example", "https://xn--bcher-kva.example/otp")]
    [InlineData("xn--bcher-kva.example", "https://BÜCHER.example/otp")]
    [InlineData("*.bücher.example", "https://hooks.bücher.example/otp")]
    [InlineData("Hooks.Example.com.", "https://hooks.example.com/otp")]
    public void AnEntry_IsReadAsURLsAre_SoItMatchesTheURLsItNames(string allowedHosts, string url)
    {
        Assert.Equal(CallbackUrlProblem.None, Policy(allowedHosts).Check(url, out var parsed));
        Assert.NotNull(parsed);
    }

    [Theory]
    [InlineData("*.example.com", "https://evilexample.com/otp")]
    [InlineData("*.example.com", "https://example.com/otp")]
    [InlineData("*.example.com", "https://a.evilexample.com/otp")]
    [InlineData("hooks.example.com", "https://hooks.example.com.evil.net/otp")]
    [InlineData("[2001:db8::10]", "https://[2001:db8::11]/otp")]
    public void ALookAlikeHost_IsRefused(string allowedHosts, string url) =>
        Assert.Equal(CallbackUrlProblem.HostNotAllowed, Policy(allowedHosts).Check(url, out _));

    [Theory]
    [InlineData("\u0378.example.com")]
    [InlineData("*.\u2488.example")]
    [InlineData("*.[2001:db8::10]")]
    [InlineData("hooks.example.com:0")]
    [InlineData("hooks.example.com:70000")]
    [InlineData("hooks.example.com/path")]
    [InlineData("*.*.example.com")]
    [InlineData("*.com")] // a wildcard over a whole top-level domain lets any caller pick any host
    [InlineData("*.localhost")]
    [InlineData("*.1.2.3")] // matches the IP literal 10.1.2.3
    [InlineData("*.0.0.1")]
    public void AnEntryThatCouldNeverMatch_StopsTheStart_WithAClearMessage(string entry)
    {
        var validator = new CallbackOptionsValidator(Configuration("Production"));

        var result = validator.Validate(null, new CallbackOptions { SigningKey = SigningKey, AllowedHosts = $"hooks.example.com, {entry}" });

        Assert.True(result.Failed);
        Assert.Contains("Callbacks:AllowedHosts entry", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void TheCircuits_AreBoundedPerEntry_AndOneTenantsReceiverDoesNotShareEveryonesCircuit()
    {
        var policy = Policy("*.example.com, hooks.other.net");

        var keys = Enumerable.Range(0, 5000).Select(i => policy.PipelineKeyFor(new Uri($"https://tenant{i}.example.com/otp"))).ToList();

        // However many subdomains callers name, no more pipelines than the buckets; and they are spread over them.
        Assert.Equal(CallbackUrlPolicy.PipelineBucketsPerEntry, keys.Distinct().Count());
        Assert.All(keys, k => Assert.StartsWith("entry:*.example.com#", k, StringComparison.Ordinal));
        Assert.Equal(policy.PipelineKeyFor(new Uri("https://tenant7.example.com/a")), policy.PipelineKeyFor(new Uri("https://TENANT7.example.com/b")));
        Assert.StartsWith("entry:hooks.other.net#", policy.PipelineKeyFor(new Uri("https://hooks.other.net/otp")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1", false, false)]
    [InlineData("::1", false, false)]
    [InlineData("::ffff:127.0.0.1", false, false)]
    [InlineData("10.1.2.3", false, false)]
    [InlineData("172.16.0.1", false, false)]
    [InlineData("172.31.255.1", false, false)]
    [InlineData("192.168.1.1", false, false)]
    [InlineData("100.64.0.1", false, false)]
    [InlineData("fd12:3456::1", false, false)]
    [InlineData("169.254.169.254", false, false)]
    [InlineData("fe80::1", false, false)]
    [InlineData("168.63.129.16", false, false)]
    [InlineData("fd00:ec2::254", false, false)]
    [InlineData("224.0.0.1", false, false)]
    [InlineData("255.255.255.255", false, false)]
    [InlineData("0.0.0.0", false, false)]
    [InlineData("ff02::1", false, false)]
    [InlineData("10.1.2.3", true, true)]
    [InlineData("192.168.1.1", true, true)]
    [InlineData("100.64.0.1", true, true)]
    [InlineData("fd12:3456::1", true, true)]
    [InlineData("169.254.169.254", true, false)]
    [InlineData("168.63.129.16", true, false)]
    [InlineData("fd00:ec2::254", true, false)]
    [InlineData("127.0.0.1", true, false)]
    [InlineData("172.32.0.1", false, true)]
    [InlineData("20.50.1.2", false, true)]
    [InlineData("2603:1030::1", false, true)]
    [InlineData("2002:a9fe:a9fe::1", true, false)] // 6to4: an IPv4 address (here 169.254.169.254) inside
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2", true, false)] // Teredo
    public void AnAddress_IsReachable_OnlyWhereTheSettingsAllow(string address, bool allowPrivateNetworks, bool allowed)
    {
        var network = new CallbackNetwork(Microsoft.Extensions.Options.Options.Create(new CallbackOptions { AllowPrivateNetworks = allowPrivateNetworks }), Configuration("Production"));

        Assert.Equal(allowed, network.Allows(IPAddress.Parse(address)));
    }

    [Fact]
    public void Loopback_IsReachable_InLocalDevelopmentOnly()
    {
        var development = new CallbackNetwork(Microsoft.Extensions.Options.Options.Create(new CallbackOptions()), Configuration("Development"));

        Assert.True(development.Allows(IPAddress.Loopback));
        Assert.True(development.Allows(IPAddress.IPv6Loopback));
        Assert.False(development.Allows(IPAddress.Parse("169.254.169.254")));
    }

    [Fact]
    public async Task AListedNameThatResolvesToLoopback_GetsNoConnection_OutsideDevelopment()
    {
        // "localhost" is on the list (as an operator might list a name that later points inside): the sender still
        // refuses it after DNS, before a byte is sent.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var app = await CallbackTests.StartAppAsync([], c =>
        {
            c.Url = null;
            c.AllowedHosts = $"localhost:{port}";
        }, environment: "Production");
        var url = new Uri($"https://localhost:{port}/otp");
        Assert.Equal(CallbackUrlProblem.None, app.Services.GetRequiredService<CallbackUrlPolicy>().Check(url.AbsoluteUri, out _));
        var sender = app.Services.GetRequiredService<CallbackSender>();

        var attempt = await sender.PostAsync(url, new CallbackEvent("evt_1", "created", "v1", 1, null, DateTimeOffset.UtcNow, OtpFailover.Channels.Channel.WhatsApp, null), default);

        Assert.False(attempt.Delivered);
        Assert.Equal("address_not_allowed", attempt.Failure);
        Assert.False(listener.Pending(), "The sender connected to a loopback address.");
    }

    [Fact]
    public async Task TheCallbackClient_ConnectsThroughTheAddressCheck_AndNeverThroughAProxy()
    {
        // A proxy from the environment (HTTPS_PROXY) would take the connection, and the check would judge the proxy.
        await using var app = await CallbackTests.StartAppAsync([], environment: "Production");
        var handler = app.Services.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler(nameof(CallbackSender));
        while (handler is DelegatingHandler delegating)
        {
            handler = delegating.InnerHandler!;
        }

        var sockets = Assert.IsType<SocketsHttpHandler>(handler);
        Assert.False(sockets.UseProxy);
        Assert.False(sockets.AllowAutoRedirect);
        Assert.NotNull(sockets.ConnectCallback);
    }

    [Fact]
    public async Task AListedNameThatDoesNotResolve_FailsAsHostNotFound()
    {
        // .invalid never resolves (RFC 6761): the failure names the host, and is kept out of the circuit's failures.
        await using var app = await CallbackTests.StartAppAsync([], c => c.AllowedHosts = "*.otpfailover.invalid", environment: "Production");
        var sender = app.Services.GetRequiredService<CallbackSender>();

        var attempt = await sender.PostAsync(new Uri("https://hooks.otpfailover.invalid/otp"), new CallbackEvent("evt_1", "created", "v1", 1, null, DateTimeOffset.UtcNow, OtpFailover.Channels.Channel.WhatsApp, null), default);

        Assert.False(attempt.Delivered);
        Assert.Equal("host_not_found", attempt.Failure);
    }

    [Fact]
    public async Task AStartWithACallbackUrlOnAnAllowedUnicodeHost_IsAccepted()
    {
        await using var app = await CallbackTests.StartAppAsync([], c => c.AllowedHosts = "*.bücher.example", environment: "Production");
        var body = JsonSerializer.Serialize(new { phoneNumber = "+14155550187", callbackUrl = "https://hooks.bücher.example/otp" });

        var response = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", body), app.Client, default));

        Assert.True(response.Status == 202, response.Body);
    }
}
