using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Abuse;
using OtpFailover.Sms;
using OtpFailover.Tests.Http;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.Workflow;
using static OtpFailover.Tests.Http.HttpTestRequests;

namespace OtpFailover.Tests.Abuse;

/// <summary>What the API answers an abuser, on the wire: 400/403 for numbers, 429 with Retry-After, idempotent starts.</summary>
public sealed class AbuseApiTests
{
    private const string Problem = "application/problem+json";

    private static async Task<WireResponse> StartAsync(TestApp app, string body, string? idempotencyKey = null)
    {
        var request = Json("POST", "/api/verifications", body);
        if (idempotencyKey is not null)
        {
            request.Headers["Idempotency-Key"] = idempotencyKey;
        }

        return await ExecuteAsync(await app.Api.StartVerification(request, app.Client, default));
    }

    [Theory]
    [InlineData("+1 900 555 1234", "premium_rate")]
    [InlineData("+44 871 234 5678", "premium_rate")]
    [InlineData("+44 20 7946 0958", "fixed_line")]
    public async Task ANumberOfAKindThatMayNotReceiveACode_Answers400NamingTheRule_WithoutEchoingIt_AndWritesNothing(string number, string numberType)
    {
        await using var app = await TestApp.StartAsync();

        var response = await StartAsync(app, $$"""{"phoneNumber":"{{number}}"}""");

        Assert.Equal(400, response.Status);
        Assert.Equal(Problem, response.MediaType);
        Assert.Equal("urn:otpfailover:problem:invalid-phone-number", response.ProblemType);
        Assert.Equal("number-type", response.Json.GetProperty("rule").GetString());
        Assert.Equal(numberType, response.Json.GetProperty("numberType").GetString());
        Assert.DoesNotContain(new string(number.Where(char.IsAsciiDigit).ToArray())[3..], response.Body, StringComparison.Ordinal);
        Assert.Empty(await app.RowsAsync());
        Assert.Equal(0, app.WhatsApp.Calls);
    }

    [Theory]
    [InlineData("+14155550123", "extension", "+1 415 555 0123 ext. 7")]
    [InlineData("+14155550123", "invalid", "+1415555012345678")]
    [InlineData("+14155550123", "format", "0044 20 7946 0958")]
    public async Task AnInvalidNumber_SaysWhichRuleFailed(string _, string rule, string input)
    {
        await using var app = await TestApp.StartAsync();

        var response = await StartAsync(app, $$"""{"phoneNumber":"{{input}}"}""");

        Assert.Equal(400, response.Status);
        Assert.Equal(rule, response.Json.GetProperty("rule").GetString());
        Assert.Empty(await app.RowsAsync());
    }

    [Fact]
    public async Task FixedLineNumbers_CanBeAllowedByConfiguration()
    {
        await using var app = await TestApp.StartAsync(abuse: a => a.AllowedNumberTypes = "Mobile, FixedLineOrMobile, FixedLine");

        var response = await StartAsync(app, """{"phoneNumber":"+44 (0)20 7946 0958"}""");

        Assert.Equal(202, response.Status);
    }

    [Theory]
    [InlineData("BlockedCountries", "GB, IN", "+447911123456", "GG", 202)]
    [InlineData("BlockedCountries", "DE", "+4915112345678", "DE", 403)]
    [InlineData("AllowedCountries", "US,CA", "+4915112345678", "DE", 403)]
    [InlineData("AllowedCountries", "us; de", "+4915112345678", "DE", 202)]
    public async Task CountryRules_AreCheckedBeforeAnythingIsWritten(string setting, string value, string number, string region, int status)
    {
        await using var app = await TestApp.StartAsync(abuse: a =>
        {
            if (setting == "BlockedCountries")
            {
                a.BlockedCountries = value;
            }
            else
            {
                a.AllowedCountries = value;
            }
        });

        var response = await StartAsync(app, $$"""{"phoneNumber":"{{number}}"}""");

        Assert.Equal(status, response.Status);
        if (status == 403)
        {
            Assert.Equal(Problem, response.MediaType);
            Assert.Equal("urn:otpfailover:problem:country-not-allowed", response.ProblemType);
            Assert.Equal(region, response.Json.GetProperty("country").GetString());
            Assert.Empty(await app.RowsAsync());
        }
    }

    [Fact]
    public async Task TooManyStarts_Answer429_WithRetryAfter_AndWriteNothingElse()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await TestApp.StartAsync(
            o => (o.CodeLifetime, o.WhatsAppDeliveryTimeout) = (TimeSpan.FromHours(1), TimeSpan.FromMinutes(5)),
            time: time,
            abuse: a => a.StartsPerNumber = new(2, TimeSpan.FromMinutes(15)));
        var first = await StartAsync(app, """{"phoneNumber":"+4915112345678"}""");
        Assert.Equal(202, first.Status);
        time.Advance(TimeSpan.FromMinutes(5));
        var second = await StartAsync(app, """{"phoneNumber":"+49 151 12345678"}""");
        Assert.Equal(202, second.Status);
        await app.WaitForCompletionAsync(first.Json.GetProperty("id").GetString()!);
        await app.WaitForPhaseAsync(second.Json.GetProperty("id").GetString()!, WorkflowPhases.AwaitingWhatsAppDelivery);
        var before = await app.RowsAsync();

        var refused = await StartAsync(app, """{"phoneNumber":"+4915112345678"}""");

        Assert.Equal(429, refused.Status);
        Assert.Equal(Problem, refused.MediaType);
        Assert.Equal("urn:otpfailover:problem:too-many-starts", refused.ProblemType);
        Assert.Equal("Abuse:StartsPerNumber", refused.Json.GetProperty("limit").GetString());
        Assert.Equal("600", refused.Headers["Retry-After"]);
        Assert.Equal(600, refused.Json.GetProperty("retryAfterSeconds").GetInt32());
        Assert.Equal(before.Select(r => (r.PartitionKey, r.ETag)), (await app.RowsAsync()).Select(r => (r.PartitionKey, r.ETag)));

        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(202, (await StartAsync(app, """{"phoneNumber":"+4915112345678"}""")).Status);
    }

    [Fact]
    public async Task StartsPerClient_CountAcrossNumbers_ByKeyAndByIp_WithIPv6CountedByItsSlash64()
    {
        await using var app = await TestApp.StartAsync(abuse: a => a.StartsPerClient = new(2, TimeSpan.FromHours(1)));

        Assert.Equal(202, (await StartAsync(app, """{"phoneNumber":"+4915112345671","clientIp":"2001:db8:1:2::10"}""")).Status);
        Assert.Equal(202, (await StartAsync(app, """{"phoneNumber":"+4915112345672","clientIp":"2001:db8:1:2:ffff::1"}""")).Status);
        var third = await StartAsync(app, """{"phoneNumber":"+4915112345673","clientIp":"2001:db8:1:2::99"}""");
        var otherPrefix = await StartAsync(app, """{"phoneNumber":"+4915112345674","clientIp":"2001:db8:1:3::10"}""");
        var byKey = await StartAsync(app, """{"phoneNumber":"+4915112345675","clientKey":"session-1","clientIp":"2001:db8:1:2::10"}""");

        Assert.Equal(429, third.Status);
        Assert.Equal("urn:otpfailover:problem:too-many-client-starts", third.ProblemType);
        Assert.True(int.Parse(third.Headers["Retry-After"], System.Globalization.CultureInfo.InvariantCulture) > 3500);
        Assert.Equal(202, otherPrefix.Status);

        // A fresh key does not escape the IP's limit: every client the caller names is counted.
        Assert.Equal(429, byKey.Status);
        Assert.Equal(202, (await StartAsync(app, """{"phoneNumber":"+4915112345676","clientKey":"session-2"}""")).Status);

        // The refused start took nothing from its number either: that number can still start.
        Assert.Equal(202, (await StartAsync(app, """{"phoneNumber":"+4915112345673"}""")).Status);
        Assert.DoesNotContain(await app.RowsAsync(), r => r.Select(p => p.Value).OfType<string>().Any(v => v.Contains("2001:db8", StringComparison.Ordinal) || v.Contains("session-1", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ARepeatedIdempotencyKey_ReturnsTheFirstVerification_With200_SendingAndCountingNothing()
    {
        await using var app = await TestApp.StartAsync(abuse: a => a.StartsPerNumber = new(1, TimeSpan.FromMinutes(15)));
        var first = await StartAsync(app, """{"phoneNumber":"+4915112345678"}""", idempotencyKey: "form-7f3a-0c41-4e7b");
        await app.WhatsApp.WaitForMessageAsync();

        var again = await StartAsync(app, """{"phoneNumber":"+49 151 1234 5678"}""", idempotencyKey: "form-7f3a-0c41-4e7b");

        Assert.Equal(202, first.Status);
        Assert.Equal(200, again.Status);
        Assert.Equal(first.Json.GetProperty("id").GetString(), again.Json.GetProperty("id").GetString());
        Assert.Equal(first.Json.GetProperty("expiresAt").GetDateTimeOffset(), again.Json.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.Equal("pending", again.Json.GetProperty("status").GetString());
        await Task.Delay(300);
        Assert.Equal(1, app.WhatsApp.Calls);
        Assert.Equal(VerificationStatus.Pending, (await app.GetAsync(first.Json.GetProperty("id").GetString()!)).Status);

        // A different key (or none) is a new start: here the limit of one start refuses it, so the replay counted nothing.
        var other = await StartAsync(app, """{"phoneNumber":"+4915112345678"}""", idempotencyKey: "form-other-59de-41a0");
        Assert.Equal(429, other.Status);
        var sameKeyAgain = await StartAsync(app, """{"phoneNumber":"+4915112345678"}""", idempotencyKey: "form-7f3a-0c41-4e7b");
        Assert.Equal(200, sameKeyAgain.Status);
    }

    [Fact]
    public async Task AnIdempotencyKey_IsScopedToItsNumber_AndAStartWithAnotherKeySupersedes()
    {
        await using var app = await TestApp.StartAsync();
        var first = await StartAsync(app, """{"phoneNumber":"+4915112345678"}""", idempotencyKey: "key-one-6f1c-4a52");
        var otherNumber = await StartAsync(app, """{"phoneNumber":"+4915112345679"}""", idempotencyKey: "key-one-6f1c-4a52");
        var otherKey = await StartAsync(app, """{"phoneNumber":"+4915112345678"}""", idempotencyKey: "key-two-0b7e-44d3");

        Assert.Equal(202, otherNumber.Status);
        Assert.Equal(202, otherKey.Status);
        Assert.NotEqual(first.Json.GetProperty("id").GetString(), otherKey.Json.GetProperty("id").GetString());
        Assert.Equal(VerificationStatus.Canceled, (await app.GetAsync(first.Json.GetProperty("id").GetString()!)).Status);

        // The first key now returns its (superseded) verification as it is.
        var replay = await StartAsync(app, """{"phoneNumber":"+4915112345678"}""", idempotencyKey: "key-one-6f1c-4a52");
        Assert.Equal(200, replay.Status);
        Assert.Equal("canceled", replay.Json.GetProperty("status").GetString());
    }

    [Fact]
    public async Task ParallelStartsWithOneIdempotencyKey_StartOneVerification()
    {
        await using var app = await TestApp.StartAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => StartAsync(app, """{"phoneNumber":"+4915112345678"}""", idempotencyKey: "double-click-1d2e-4f60"))));

        Assert.Single(responses, r => r.Status == 202);
        Assert.All(responses, r => Assert.True(r.Status is 202 or 200 or 409, r.Body));
        var ids = responses.Where(r => r.Status is 200 or 202).Select(r => r.Json.GetProperty("id").GetString()).Distinct();
        Assert.Single(ids);
        Assert.All(responses.Where(r => r.Status == 409), r =>
        {
            Assert.Equal("urn:otpfailover:problem:idempotency-key-in-use", r.ProblemType);
            Assert.Equal("1", r.Headers["Retry-After"]);
        });
        await app.WhatsApp.WaitForMessageAsync();
        await Task.Delay(300);
        Assert.Equal(1, app.WhatsApp.Calls);
    }

    [Theory]
    [InlineData("")]
    [InlineData("short-key")]
    [InlineData("has space in the middle")]
    [InlineData("ключ-ключ-ключ-ключ")]
    public async Task AMalformedIdempotencyKey_Answers400(string key)
    {
        await using var app = await TestApp.StartAsync();

        var response = await StartAsync(app, """{"phoneNumber":"+4915112345678"}""", idempotencyKey: key);

        Assert.Equal(400, response.Status);
        Assert.Contains("Idempotency-Key", response.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await app.RowsAsync());
    }

    [Fact]
    public async Task Resend_WithNoSmsProvider_IsNoChannelLeft_NotAccepted()
    {
        await using var app = await TestApp.StartAsync(
            o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25),
            services: s => s.AddSingleton<ISmsCodeSender>(sp => sp.GetRequiredService<OtpFailover.DependencyInjection.UnconfiguredChannelSender>()));
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();

        var response = await ExecuteAsync(await app.Api.ResendCode(Json("POST", "/"), verification.Id, app.Client, default));

        Assert.Equal(409, response.Status);
        Assert.Equal("urn:otpfailover:problem:no-channel-left", response.ProblemType);
        Assert.False((await app.GetAsync(verification.Id)).ResendRequested);
    }

    [Fact]
    public async Task Resend_OverTheNumbersSmsLimit_Answers429_AndRequestsNothing()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25), abuse: a => a.SmsPerNumber = new(1, TimeSpan.FromHours(1)));
        var (first, _) = await app.StartAndAwaitWhatsAppAsync("+4915112345678");
        Assert.Equal(202, (await ExecuteAsync(await app.Api.ResendCode(Json("POST", "/"), first.Id, app.Client, default))).Status);
        await app.Sms.WaitForMessageAsync();
        var (second, _) = await app.StartAndAwaitWhatsAppAsync("+4915112345678");

        var refused = await ExecuteAsync(await app.Api.ResendCode(Json("POST", "/"), second.Id, app.Client, default));

        Assert.Equal(429, refused.Status);
        Assert.Equal("urn:otpfailover:problem:too-many-sms", refused.ProblemType);
        Assert.True(refused.Headers.ContainsKey("Retry-After"));
        Assert.False((await app.GetAsync(second.Id)).ResendRequested);
        await Task.Delay(300);
        Assert.Equal(1, app.Sms.Calls);
    }
}
