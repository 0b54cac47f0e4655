using OtpFailover.Channels;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.Workflow;
using static OtpFailover.Tests.Http.HttpTestRequests;

namespace OtpFailover.Tests.Http;

/// <summary>The HTTP functions called as methods with real requests, their results written to the wire.</summary>
public sealed class VerificationsApiTests
{
    private const string Problem = "application/problem+json";

    [Fact]
    public async Task Start_Answers202_WithLocationAndThePendingVerification()
    {
        await using var app = await TestApp.StartAsync();

        var response = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", """{"phoneNumber":"+14155550123","clientReference":"signup-7"}"""), app.Client, default));

        Assert.Equal(202, response.Status);
        Assert.Equal("application/json", response.MediaType);
        var id = response.Json.GetProperty("id").GetString()!;
        Assert.Equal($"/api/verifications/{id}", response.Location);
        Assert.Equal("pending", response.Json.GetProperty("status").GetString());
        Assert.Equal("whatsapp", response.Json.GetProperty("channel").GetString());
        Assert.True(response.Json.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);
        Assert.Equal(["id", "status", "channel", "expiresAt"], response.Json.EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [InlineData("{not json", "urn:otpfailover:problem:invalid-request")]
    [InlineData("", "urn:otpfailover:problem:invalid-request")]
    [InlineData("[]", "urn:otpfailover:problem:invalid-request")]
    [InlineData("{}", "urn:otpfailover:problem:invalid-phone-number")]
    [InlineData("""{"phoneNumber":"4155550123"}""", "urn:otpfailover:problem:invalid-phone-number")]
    [InlineData("""{"phoneNumber":"+0123456789"}""", "urn:otpfailover:problem:invalid-phone-number")]
    [InlineData("""{"phoneNumber":"+1415555012345678"}""", "urn:otpfailover:problem:invalid-phone-number")]
    [InlineData("""{"phoneNumber":"+447700900123"}""", "urn:otpfailover:problem:invalid-phone-number")]
    [InlineData("""{"phoneNumber":12345678}""", "urn:otpfailover:problem:invalid-request")]
    [InlineData("""{"phoneNumber":"+14155550123","clientIp":"not-an-ip"}""", "urn:otpfailover:problem:invalid-request")]
    [InlineData("""{"phoneNumber":"+14155550123","clientKey":"has a space"}""", "urn:otpfailover:problem:invalid-request")]
    public async Task Start_WithABadBody_Answers400ProblemDetails_AndStoresNothing(string body, string type)
    {
        await using var app = await TestApp.StartAsync();

        var response = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", body), app.Client, default));

        Assert.Equal(400, response.Status);
        Assert.Equal(Problem, response.MediaType);
        Assert.Equal(type, response.ProblemType);
        Assert.Equal(400, response.Json.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(response.Json.GetProperty("detail").GetString()));
        Assert.DoesNotContain("System.", response.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", response.Body, StringComparison.Ordinal);
        Assert.Equal(0, app.WhatsApp.Calls);
        Assert.Empty(await app.RowsAsync());
    }

    [Fact]
    public async Task Start_WithATooLongClientReference_Answers400()
    {
        await using var app = await TestApp.StartAsync();
        var body = $$"""{"phoneNumber":"+14155550123","clientReference":"{{new string('x', 129)}}"}""";

        var response = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", body), app.Client, default));

        Assert.Equal(400, response.Status);
        Assert.Contains("clientReference", response.Json.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Start_ForANumberInFlight_InAnotherSpelling_SupersedesIt_AndNeverHandsItsIdOut()
    {
        await using var app = await TestApp.StartAsync();
        var first = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", """{"phoneNumber":"+14155550123"}"""), app.Client, default));
        var firstId = first.Json.GetProperty("id").GetString()!;

        var second = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", """{"phoneNumber":"+1 (415) 555-0123"}"""), app.Client, default));

        Assert.Equal(202, second.Status);
        Assert.NotEqual(firstId, second.Json.GetProperty("id").GetString());
        Assert.DoesNotContain(firstId, second.Body, StringComparison.Ordinal);
        var old = await app.GetAsync(firstId);
        Assert.Equal(VerificationStatus.Canceled, old.Status);
        Assert.Equal("superseded", old.Timeline[^1].Detail);
    }

    [Fact]
    public async Task Get_ShowsTheMaskedNumber_TheAttempts_AndTheTimeline_ButNeverTheCode()
    {
        await using var app = await TestApp.StartAsync();
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync("+14155550123", "signup-7");
        await app.Verifications.CheckAsync(verification.Id, code == "000000" ? "111111" : "000000", app.Client, default);

        var response = await ExecuteAsync(await app.Api.GetVerification(Json("GET", $"/api/verifications/{verification.Id}"), verification.Id, default));

        Assert.Equal(200, response.Status);
        var body = response.Json;
        Assert.Equal(verification.Id, body.GetProperty("id").GetString());
        Assert.Equal("pending", body.GetProperty("status").GetString());
        Assert.Equal("+1415*****23", body.GetProperty("phoneNumber").GetString());
        Assert.Equal("whatsapp", body.GetProperty("channel").GetString());
        Assert.Equal("signup-7", body.GetProperty("clientReference").GetString());
        Assert.Equal(1, body.GetProperty("attemptsUsed").GetInt32());
        Assert.Equal(4, body.GetProperty("attemptsRemaining").GetInt32());
        Assert.True(body.GetProperty("createdAt").GetDateTimeOffset() < body.GetProperty("expiresAt").GetDateTimeOffset());
        var timeline = body.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal([TimelineEventTypes.Created, TimelineEventTypes.WhatsAppSent, TimelineEventTypes.CheckFailed], timeline);
        Assert.All(body.GetProperty("timeline").EnumerateArray(), e => e.GetProperty("at").GetDateTimeOffset());
        Assert.DoesNotContain(code, response.Body);
        Assert.DoesNotContain("4155550123", response.Body);
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef")]
    [InlineData("not-an-id")]
    [InlineData("..%2F..%2Fetc")]
    public async Task UnknownOrMalformedIds_Answer404_OnEveryRoute(string id)
    {
        await using var app = await TestApp.StartAsync();

        var responses = new[]
        {
            await ExecuteAsync(await app.Api.GetVerification(Json("GET", "/"), id, default)),
            await ExecuteAsync(await app.Api.CheckCode(Json("POST", "/", """{"code":"123456"}"""), id, app.Client, default)),
            await ExecuteAsync(await app.Api.ResendCode(Json("POST", "/"), id, app.Client, default)),
            await ExecuteAsync(await app.Api.CancelVerification(Json("DELETE", "/"), id, app.Client, default)),
        };

        Assert.All(responses, r =>
        {
            Assert.Equal(404, r.Status);
            Assert.Equal(Problem, r.MediaType);
            Assert.Equal("urn:otpfailover:problem:verification-not-found", r.ProblemType);
        });
    }

    [Fact]
    public async Task Check_AnswersEachOutcomeWithItsStatusCode()
    {
        await using var app = await TestApp.StartAsync();
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        var wrong = code == "000000" ? "111111" : "000000";
        Task<WireResponse> Check(string body) => app.Api.CheckCode(Json("POST", "/", body), verification.Id, app.Client, default).ContinueWith(t => ExecuteAsync(t.Result)).Unwrap();

        var malformed = await Check("""{"code":"12ab56"}""");
        Assert.Equal(400, malformed.Status);
        Assert.Equal("urn:otpfailover:problem:invalid-code", malformed.ProblemType);
        Assert.Equal(400, (await Check("""{"code":123456}""")).Status);
        Assert.Equal(400, (await Check("{}")).Status);
        var newline = await Check($$"""{"code":"{{wrong}}\n"}""");
        Assert.Equal(400, newline.Status);
        Assert.Equal("urn:otpfailover:problem:invalid-code", newline.ProblemType);
        Assert.Equal(0, (await app.GetAsync(verification.Id)).AttemptsUsed);

        var incorrect = await Check($$"""{"code":"{{wrong}}"}""");
        Assert.Equal(422, incorrect.Status);
        Assert.Equal(Problem, incorrect.MediaType);
        Assert.Equal("urn:otpfailover:problem:incorrect-code", incorrect.ProblemType);
        Assert.Equal(4, incorrect.Json.GetProperty("attemptsRemaining").GetInt32());

        var approved = await Check($$"""{"code":"{{code}}"}""");
        Assert.Equal(200, approved.Status);
        Assert.Equal("approved", approved.Json.GetProperty("status").GetString());

        var again = await Check($$"""{"code":"{{code}}"}""");
        Assert.Equal(409, again.Status);
        Assert.Equal("urn:otpfailover:problem:verification-ended", again.ProblemType);
        Assert.Equal("approved", again.Json.GetProperty("verificationStatus").GetString());
    }

    [Fact]
    public async Task Check_AfterTheLastAttempt_Answers422ThenGone()
    {
        await using var app = await TestApp.StartAsync(o => o.MaxCheckAttempts = 1);
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        var wrong = code == "000000" ? "111111" : "000000";

        var last = await ExecuteAsync(await app.Api.CheckCode(Json("POST", "/", $$"""{"code":"{{wrong}}"}"""), verification.Id, app.Client, default));
        var after = await ExecuteAsync(await app.Api.CheckCode(Json("POST", "/", $$"""{"code":"{{code}}"}"""), verification.Id, app.Client, default));

        Assert.Equal(422, last.Status);
        Assert.Equal(0, last.Json.GetProperty("attemptsRemaining").GetInt32());
        Assert.Equal("max_attempts_reached", last.Json.GetProperty("verificationStatus").GetString());
        Assert.Equal(410, after.Status);
        Assert.Equal("max_attempts_reached", after.Json.GetProperty("verificationStatus").GetString());
    }

    [Fact]
    public async Task Resend_Answers202_ThenNoChannelLeft()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();

        var first = await ExecuteAsync(await app.Api.ResendCode(Json("POST", "/"), verification.Id, app.Client, default));
        var second = await ExecuteAsync(await app.Api.ResendCode(Json("POST", "/"), verification.Id, app.Client, default));

        Assert.Equal(202, first.Status);
        Assert.Equal("sms", first.Json.GetProperty("channel").GetString());
        Assert.Equal(409, second.Status);
        Assert.Equal("urn:otpfailover:problem:no-channel-left", second.ProblemType);
        await app.Sms.WaitForMessageAsync();
    }

    [Fact]
    public async Task Resend_AnswersTheChannelTheCodeGoesOutOn_WhateverThePlan()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "sms, whatsapp");
        var verification = await app.StartAsync("+14155550123");
        await app.Sms.WaitForMessageAsync();
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.Of(Channel.Sms, WorkflowPhases.AwaitingDelivery));

        var first = await ExecuteAsync(await app.Api.ResendCode(Json("POST", "/"), verification.Id, app.Client, default));
        var second = await ExecuteAsync(await app.Api.ResendCode(Json("POST", "/"), verification.Id, app.Client, default));

        Assert.Equal(202, first.Status);
        Assert.Equal("whatsapp", first.Json.GetProperty("channel").GetString());
        await app.WhatsApp.WaitForMessageAsync();
        Assert.Equal(409, second.Status);
        Assert.DoesNotContain("SMS", second.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_Answers204_IsRepeatable_AndEndsEverythingElse()
    {
        await using var app = await TestApp.StartAsync();
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();

        var deleted = await ExecuteAsync(await app.Api.CancelVerification(Json("DELETE", "/"), verification.Id, app.Client, default));
        var deletedAgain = await ExecuteAsync(await app.Api.CancelVerification(Json("DELETE", "/"), verification.Id, app.Client, default));
        var check = await ExecuteAsync(await app.Api.CheckCode(Json("POST", "/", $$"""{"code":"{{code}}"}"""), verification.Id, app.Client, default));
        var resend = await ExecuteAsync(await app.Api.ResendCode(Json("POST", "/"), verification.Id, app.Client, default));
        var get = await ExecuteAsync(await app.Api.GetVerification(Json("GET", "/"), verification.Id, default));

        Assert.Equal(204, deleted.Status);
        Assert.Equal(204, deletedAgain.Status);
        Assert.Equal(409, check.Status);
        Assert.Equal("canceled", check.Json.GetProperty("verificationStatus").GetString());
        Assert.Equal(409, resend.Status);
        Assert.Equal("canceled", get.Json.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Delete_OfAnApprovedVerification_Answers409()
    {
        await using var app = await TestApp.StartAsync();
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Verifications.CheckAsync(verification.Id, code, app.Client, default);

        var response = await ExecuteAsync(await app.Api.CancelVerification(Json("DELETE", "/"), verification.Id, app.Client, default));

        Assert.Equal(409, response.Status);
        Assert.Equal("approved", response.Json.GetProperty("verificationStatus").GetString());
    }
}
