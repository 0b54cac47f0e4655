using OtpFailover.Tests.Infrastructure;
using static OtpFailover.Tests.Http.HttpTestRequests;

namespace OtpFailover.Tests.Email;

/// <summary>The start's <c>email</c> through the HTTP function: refused clearly, kept masked, never echoed.</summary>
public sealed class EmailApiTests
{
    [Theory]
    [InlineData("""{"phoneNumber":"+14155550123","email":"not-an-address"}""", "format")]
    [InlineData("""{"phoneNumber":"+14155550123","email":"Ana <ana@example.com>"}""", "format")]
    [InlineData("""{"phoneNumber":"+14155550123","email":"ana@[192.0.2.1]"}""", "format")]
    [InlineData("""{"phoneNumber":"+14155550123","email":"ana@mail.throwaway.example"}""", "disposable-domain")]
    [InlineData("""{"phoneNumber":"+14155550123","email":"ana@wegwerf-bücher.example"}""", "disposable-domain")]
    public async Task Start_WithAnAddressThatCannotReceiveACode_Answers400_NamingTheRule_AndStoresNothing(string body, string rule)
    {
        await using var app = await TestApp.StartAsync(abuse: a => a.DisposableEmailDomains = "throwaway.example, wegwerf-bücher.example");

        var response = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", body), app.Client, default));

        Assert.Equal(400, response.Status);
        Assert.Equal("urn:otpfailover:problem:invalid-email", response.ProblemType);
        Assert.Equal(rule, response.Json.GetProperty("rule").GetString());
        Assert.DoesNotContain("ana", response.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("throwaway", response.Body, StringComparison.Ordinal);
        Assert.Empty(await app.RowsAsync());
    }

    [Fact]
    public async Task Start_NamingEmailWithoutAnAddress_Answers400()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "sms, email");

        var response = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", """{"phoneNumber":"+14155550123","channels":["email"]}"""), app.Client, default));

        Assert.Equal(400, response.Status);
        Assert.Contains("email", response.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await app.RowsAsync());
    }

    [Fact]
    public async Task Get_ShowsTheAddressMasked_AndNoRowHoldsItWhole()
    {
        await using var app = await TestApp.StartAsync(o => o.Channels = "email, sms");
        var started = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", """{"phoneNumber":"+14155550123","email":"Bea.Costa@Example.org","channels":["email"]}"""), app.Client, default));
        var id = started.Json.GetProperty("id").GetString()!;
        await app.Email.WaitForMessageAsync();

        var read = await ExecuteAsync(await app.Api.GetVerification(Json("GET", $"/api/verifications/{id}"), id, default));

        Assert.Equal("b•••@example.org", read.Json.GetProperty("email").GetString());
        Assert.Equal("email", read.Json.GetProperty("channel").GetString());
        var rows = string.Join('\n', (await app.RowsAsync()).SelectMany(r => r).Select(p => p.Value is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : p.Value?.ToString()));
        Assert.DoesNotContain("bea.costa", rows, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Start_WhosePlanNoChannelCanReach_Answers400_AndWritesNothing()
    {
        // The number's country sends codes by email only, and the start gave no address.
        await using var app = await TestApp.StartAsync(o => o.ChannelsByCountry["US"] = "email");

        var response = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", """{"phoneNumber":"+14155550123"}"""), app.Client, default));

        Assert.Equal(400, response.Status);
        Assert.Contains("email", response.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await app.RowsAsync());
    }
}
