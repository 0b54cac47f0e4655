using System.Text.Json;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Http;

/// <summary>
/// What the Functions host will see. Calling methods directly cannot catch a wrong attribute; the
/// <c>functions.metadata</c> the build generates (and the host reads) can. The OpenAPI description is checked
/// against it and against real responses.
/// </summary>
public sealed class FunctionsMetadataTests
{
    public sealed record Documented(string Name, string Trigger, string? Route = null, string? Method = null, string? AuthLevel = null);

    /// <summary>The README's API and webhook tables, the durable functions, and the daily purge.</summary>
    private static readonly Documented[] Functions =
    [
        new("StartVerification", "httpTrigger", "verifications", "post", "Function"),
        new("GetVerification", "httpTrigger", "verifications/{id}", "get", "Function"),
        new("CheckCode", "httpTrigger", "verifications/{id}/check", "post", "Function"),
        new("ResendCode", "httpTrigger", "verifications/{id}/resend", "post", "Function"),
        new("CancelVerification", "httpTrigger", "verifications/{id}", "delete", "Function"),
        new("WhatsAppWebhookHandshake", "httpTrigger", "webhooks/whatsapp", "get", "Anonymous"),
        new("WhatsAppStatusNotification", "httpTrigger", "webhooks/whatsapp", "post", "Anonymous"),
        new("AcsDeliveryReports", "httpTrigger", "webhooks/acs", "post", "Anonymous"),
        new("AcsDeliveryReportsHandshake", "httpTrigger", "webhooks/acs", "options", "Anonymous"),
        new(VerificationWorkflow.OrchestratorName, "orchestrationTrigger"),
        new(ActivityNames.SendCode, "activityTrigger"),
        new(ActivityNames.Expire, "activityTrigger"),
        new(ActivityNames.Fail, "activityTrigger"),
        new(ActivityNames.ReadVerification, "activityTrigger"),
        new(OtpFailover.Workflow.CallbackDelivery.OrchestratorName, "orchestrationTrigger"),
        new(OtpFailover.Workflow.CallbackDelivery.ActivityName, "activityTrigger"),
        new("PurgeEndedVerifications", "timerTrigger"),
    ];

    /// <summary>The metadata the Functions project's build wrote, in the configuration these tests were built in.</summary>
    private static List<Documented> ReadMetadata()
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name; // bin/{configuration}/net10.0
        var path = Path.Combine(OtpFailover.Tests.Infrastructure.ChildProcesses.RepositoryRoot, "src", "OtpFailover.Functions", "bin", configuration, "net10.0", "functions.metadata");
        using var metadata = JsonDocument.Parse(File.ReadAllText(path));
        return metadata.RootElement.EnumerateArray().Select(function =>
        {
            var trigger = function.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal));
            string? Text(string name) => trigger.TryGetProperty(name, out var value) ? value.GetString() : null;
            var methods = trigger.TryGetProperty("methods", out var m) ? m.EnumerateArray().Select(x => x.GetString()!).ToList() : [];
            return new Documented(function.GetProperty("name").GetString()!, Text("type")!, Text("route"), methods.SingleOrDefault(), Text("authLevel"));
        }).ToList();
    }

    [Fact]
    public void TheGeneratedMetadata_HoldsExactlyTheDocumentedFunctions_WithTheirTriggersRoutesMethodsAndAuth()
    {
        var metadata = ReadMetadata();

        Assert.Equal(Functions.OrderBy(f => f.Name), metadata.OrderBy(f => f.Name));
    }

    [Fact]
    public void TheOpenApiDescription_CoversExactlyTheFunctionKeyRoutes()
    {
        using var openApi = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "openapi.json")));
        var described = openApi.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Where(op => op.Name != "parameters").Select(op => (Route: path.Name.TrimStart('/'), Method: op.Name, OperationId: op.Value.GetProperty("operationId").GetString())))
            .OrderBy(x => x.OperationId)
            .ToList();

        var published = ReadMetadata().Where(f => f.AuthLevel == "Function").Select(f => (Route: f.Route!, Method: f.Method!, OperationId: (string?)f.Name)).OrderBy(x => x.OperationId).ToList();

        Assert.Equal(published, described);
        Assert.Equal("http://localhost:7071/api", openApi.RootElement.GetProperty("servers")[0].GetProperty("url").GetString());
    }

    [Fact]
    public async Task RealResponses_MatchTheirOpenApiSchemas()
    {
        using var openApi = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "openapi.json")));
        var schemas = openApi.RootElement.GetProperty("components").GetProperty("schemas");
        await using var app = await TestApp.StartAsync(o => o.MaxCheckAttempts = 2);

        var started = await HttpTestRequests.ExecuteAsync(await app.Api.StartVerification(HttpTestRequests.Json("POST", "/", """{"phoneNumber":"+14155550123","clientReference":"r-1"}"""), app.Client, default));
        var id = started.Json.GetProperty("id").GetString()!;
        var code = (await app.WhatsApp.WaitForMessageAsync()).Code;
        var wrong = await HttpTestRequests.ExecuteAsync(await app.Api.CheckCode(HttpTestRequests.Json("POST", "/", $$"""{"code":"{{(code == "000000" ? "111111" : "000000")}}"}"""), id, app.Client, default));
        var read = await HttpTestRequests.ExecuteAsync(await app.Api.GetVerification(HttpTestRequests.Json("GET", "/"), id, default));
        var approved = await HttpTestRequests.ExecuteAsync(await app.Api.CheckCode(HttpTestRequests.Json("POST", "/", $$"""{"code":"{{code}}"}"""), id, app.Client, default));
        var ended = await HttpTestRequests.ExecuteAsync(await app.Api.CheckCode(HttpTestRequests.Json("POST", "/", $$"""{"code":"{{code}}"}"""), id, app.Client, default));

        AssertMatches(schemas, "VerificationStarted", started.Json);
        AssertMatches(schemas, "Problem", wrong.Json);
        AssertMatches(schemas, "Verification", read.Json);
        Assert.All(read.Json.GetProperty("timeline").EnumerateArray(), e => AssertMatches(schemas, "TimelineEvent", e));
        AssertMatches(schemas, "CheckApproved", approved.Json);
        AssertMatches(schemas, "Problem", ended.Json);
    }

    [Fact]
    public async Task RealRefusals_MatchTheProblemSchema_AndTheDescribedStatuses()
    {
        using var openApi = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "openapi.json")));
        var schemas = openApi.RootElement.GetProperty("components").GetProperty("schemas");
        var startResponses = openApi.RootElement.GetProperty("paths").GetProperty("/verifications").GetProperty("post").GetProperty("responses");
        await using var app = await TestApp.StartAsync(abuse: a => (a.StartsPerNumber, a.BlockedCountries) = (new(1, TimeSpan.FromMinutes(15)), "FR"));
        Task<WireResponse> Start(string body, string? key = null)
        {
            var request = HttpTestRequests.Json("POST", "/", body);
            if (key is not null)
            {
                request.Headers["Idempotency-Key"] = key;
            }

            return app.Api.StartVerification(request, app.Client, default).ContinueWith(t => HttpTestRequests.ExecuteAsync(t.Result)).Unwrap();
        }

        var started = await Start("""{"phoneNumber":"+14155550123"}""", "form-3c1d-4b8e-9f20");
        var replayed = await Start("""{"phoneNumber":"+14155550123"}""", "form-3c1d-4b8e-9f20");
        var limited = await Start("""{"phoneNumber":"+14155550123"}""");
        var premium = await Start("""{"phoneNumber":"+1 900 555 1234"}""");
        var blocked = await Start("""{"phoneNumber":"+33612345678"}""");

        Assert.Equal([202, 200, 429, 400, 403], new[] { started, replayed, limited, premium, blocked }.Select(r => r.Status));
        AssertMatches(schemas, "VerificationStarted", replayed.Json);
        foreach (var refusal in new[] { limited, premium, blocked })
        {
            AssertMatches(schemas, "Problem", refusal.Json);
            Assert.True(startResponses.TryGetProperty(refusal.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), out _), $"{refusal.Status} is not described");
        }

        Assert.True(limited.Headers.ContainsKey("Retry-After"));
    }

    /// <summary>Every required property is there, nothing undescribed is, and enum values are among the described ones.</summary>
    internal static void AssertMatches(JsonElement schemas, string name, JsonElement body)
    {
        var schema = schemas.GetProperty(name);
        var properties = schema.GetProperty("properties");
        var present = body.EnumerateObject().Select(p => p.Name).ToHashSet();
        foreach (var required in schema.GetProperty("required").EnumerateArray())
        {
            Assert.True(present.Contains(required.GetString()!), $"{name}: the response lacks required '{required}'.");
        }

        foreach (var property in body.EnumerateObject())
        {
            Assert.True(properties.TryGetProperty(property.Name, out var described), $"{name}: the response has '{property.Name}', which the description lacks.");
            var target = described.TryGetProperty("$ref", out var reference) ? schemas.GetProperty(reference.GetString()!.Split('/')[^1]) : described;
            if (target.TryGetProperty("enum", out var values))
            {
                Assert.Contains(property.Value.GetString(), values.EnumerateArray().Select(v => v.GetString()));
            }
        }
    }
}
