using System.Globalization;
using System.Text;
using System.Text.Json;
using CsCheck;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Functions.Webhooks;
using OtpFailover.Tests.Http;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;
using static OtpFailover.Tests.Http.HttpTestRequests;

namespace OtpFailover.Tests.Abuse;

/// <summary>
/// Thousands of generated malformed bodies, ids, codes, headers and webhook payloads (signed and unsigned) at every
/// HTTP function of the app: none may answer 5xx, every refusal is problem details in our own words, and no refused
/// or unauthenticated request may change a row.
/// </summary>
public sealed class MalformedInputPropertyTests
{
    private const string Number = "+4915112345678";

    private static readonly Gen<string> Text = Gen.OneOf(
        Gen.String[0, 40],
        Gen.Char["0123456789+-() .\n\t\r\u0000\u00A0abcxXeE#*/\\\"{}[]:,٣"].Array[0, 30].Select(chars => new string(chars)),
        Gen.OneOf(
            Gen.Const(string.Empty),
            Gen.Const("+"),
            Gen.Const("+0"),
            Gen.Const("null"),
            Gen.Const("\u202E+1 415"),
            Gen.Const(new string('9', 70)),
            Gen.Const("+1 415 555 0123 ext 9"),
            Gen.Const("+44 (0)20 7946 0958"),
            Gen.Const("+1 900 555 1234"),
            Gen.Const("0f8fad5bd9cb469fa16570867728950e"),
            Gen.Const("../../verifications"),
            Gen.Const("1e400")));

    private static readonly Gen<string> JsonValue = Gen.OneOf(
        Text.Select(s => JsonSerializer.Serialize(s)),
        Gen.Long.Select(l => l.ToString(CultureInfo.InvariantCulture)),
        Gen.Double.Select(d => double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : "1e400"),
        Gen.OneOf(Gen.Const("null"), Gen.Const("true"), Gen.Const("[]"), Gen.Const("{}"), Gen.Const("""["+14155550123"]"""), Gen.Const("""{"a":{"b":[1,2]}}"""), Gen.Const("\"\\ud800\"")));

    /// <summary>A JSON object with some of the given properties (in any case), each with any JSON value.</summary>
    private static Gen<string> JsonObject(params string[] names) =>
        Gen.Select(Gen.Bool.Array[names.Length], JsonValue.Array[names.Length], Gen.Bool, (present, values, upper) =>
            "{" + string.Join(",", names.Select((name, i) => (name, i)).Where(p => present[p.i]).Select(p => $"\"{(upper ? p.name.ToUpperInvariant() : p.name)}\":{values[p.i]}")) + "}");

    /// <summary>Bodies that are not what the function takes: wrong types, junk, truncated JSON, plain text.</summary>
    private static Gen<string> Body(params string[] names) => Gen.Frequency(
        (4, JsonObject(names)),
        (1, Text),
        (1, JsonObject(names).Select(Gen.Int[0, 200], (json, cut) => json[..Math.Min(cut, Math.Max(0, json.Length - 1))])),
        (1, JsonValue));

    private static readonly Gen<string> Ids = Gen.OneOf(
        Text,
        Gen.Guid.Select(g => g.ToString("N")),
        Gen.Guid.Select(g => g.ToString("N").ToUpperInvariant()),
        Gen.Guid.Select(g => g.ToString("N") + "\n"),
        Gen.Guid.Select(g => g.ToString()));

    private static readonly Gen<string> Codes = Gen.OneOf(
        Gen.Char['0', '9'].Array[0, 12].Select(c => JsonSerializer.Serialize(new string(c))),
        Gen.Char['0', '9'].Array[4, 10].Select(c => JsonSerializer.Serialize(new string(c) + "\n")),
        Gen.Const("\"١٢٣٤٥٦\""),
        JsonValue);

    [Fact]
    public async Task StartVerification_AnswersEveryMalformedBodyAndHeader_WithA4xxProblem_AndWritesNothing()
    {
        await using var app = await QuietAppAsync();
        var headers = Gen.OneOf(Gen.Const((string?)null), Text.Select(t => (string?)t), Gen.Const((string?)new string('k', 300)));

        await Gen.Select(Body("phoneNumber", "clientReference", "clientIp", "clientKey"), headers).SampleAsync(async (body, idempotencyKey) =>
        {
            var request = Json("POST", "/api/verifications", body);
            if (idempotencyKey is not null)
            {
                request.Headers["Idempotency-Key"] = idempotencyKey;
            }

            await AssertRefusedAsync(app, async () => await ExecuteAsync(await app.Api.StartVerification(request, app.Client, default)));
        }, iter: 400, threads: 1);
    }

    [Fact]
    public async Task StartVerification_AnswersEveryCallbackUrlLocaleAndChannels_WithoutA5xx_AndRefusalsWriteNothing()
    {
        // A valid number, so that the start gets as far as the callback URL, the locale and the channels; callbacks on,
        // outside Development, with Unicode and IPv6 entries among the allowed hosts.
        await using var app = await TestApp.StartAsync(
            o => (o.CodeLifetime, o.WhatsAppDeliveryTimeout) = (TimeSpan.FromHours(1), TimeSpan.FromMinutes(30)),
            services: s => Callbacks.CallbackReceiver.UseIn(s, [], c => c.AllowedHosts = "*.example.com, bücher.example, [2001:db8::1]:8443", environment: "Production"));
        var label = Gen.OneOf(
            Gen.Char["abcxyz09-_\u0378\uFFFF\u2488üßİ\u00AD\u200B\u202E%"].Array[1, 12].Select(c => new string(c)),
            Gen.String[1, 12],
            Gen.OneOf(Gen.Const("hooks"), Gen.Const("xn--bcher-kva"), Gen.Const("bücher"), Gen.Const("xn--"), Gen.Const("\u0378"), Gen.Const("\uFFFF"), Gen.Const("\u2488"), Gen.Const("evilexample")));
        var host = Gen.OneOf(
            label.Array[1, 4].Select(labels => string.Join('.', labels)),
            label.Select(l => $"{l}.example.com"),
            Gen.OneOf(Gen.Const("[2001:db8::1]"), Gen.Const("[::1]"), Gen.Const("[fe80::1%25eth0]"), Gen.Const("169.254.169.254"), Gen.Const("bücher.example"), Gen.Const("[")));
        var url = Gen.Select(
            Gen.OneOf(Gen.Const("https://"), Gen.Const("http://"), Gen.Const("ftp://"), Gen.Const("//"), Gen.Const(string.Empty)),
            host,
            Gen.OneOf(Gen.Const(string.Empty), Gen.Const(":8443"), Gen.Const(":0"), Gen.Const(":99999"), Gen.Const(":-1")),
            Gen.OneOf(Gen.Const("/otp"), Gen.Const(string.Empty), Gen.Const("/otp#x"), Text))
            .Select((scheme, h, port, path) => JsonSerializer.Serialize(scheme + h + port + path));
        var locale = Gen.OneOf(
            Text.Select(t => JsonSerializer.Serialize(t)),
            Gen.OneOf(Gen.Const("pt-BR"), Gen.Const("zh-Hant-TW"), Gen.Const("en-u-ca-gregory"), Gen.Const("i-klingon"), Gen.Const("x-private"), Gen.Const("\u0130stanbul"), Gen.Const(new string('a', 300))).Select(t => JsonSerializer.Serialize(t)),
            JsonValue);
        var channels = Gen.OneOf(
            Gen.OneOf(Gen.Const("whatsapp"), Gen.Const("sms"), Gen.Const("SMS"), Gen.Const("email"), Gen.Const(string.Empty), Text).Array[0, 4].Select(a => JsonSerializer.Serialize(a)),
            JsonValue);
        var body = Gen.Select(Gen.Bool.Array[3], url, locale, channels).Select((present, u, l, c) =>
            "{" + string.Join(",", new[] { $"\"phoneNumber\":\"{Number}\"", present[0] ? $"\"callbackUrl\":{u}" : null, present[1] ? $"\"locale\":{l}" : null, present[2] ? $"\"channels\":{c}" : null }.Where(p => p is not null)) + "}");

        var answered = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        await body.SampleAsync(async json =>
        {
            var response = await AssertRefusedAsync(app, async () => await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", json), app.Client, default)));
            answered.AddOrUpdate(response.Status, 1, (_, n) => n + 1);
        }, iter: 400, threads: 1);

        Assert.True(answered.GetValueOrDefault(400) > 0, string.Join(", ", answered));
    }

    [Fact]
    public async Task TheVerificationRoutes_AnswerEveryMalformedIdAndCode_WithA4xxProblem_AndWriteNothing()
    {
        await using var app = await QuietAppAsync();
        await QuietVerificationAsync(app);

        await Gen.Select(Ids, Codes).SampleAsync(async (id, code) =>
        {
            var body = $$"""{"code":{{code}}}""";
            await AssertRefusedAsync(app, async () => await ExecuteAsync(await app.Api.GetVerification(Json("GET", "/"), id, default)), allow: [200]);
            await AssertRefusedAsync(app, async () => await ExecuteAsync(await app.Api.CheckCode(Json("POST", "/", body), id, app.Client, default)));
            await AssertRefusedAsync(app, async () => await ExecuteAsync(await app.Api.ResendCode(Json("POST", "/"), id, app.Client, default)));
            await AssertRefusedAsync(app, async () => await ExecuteAsync(await app.Api.CancelVerification(Json("DELETE", "/"), id, app.Client, default)));
        }, iter: 300, threads: 1);
    }

    [Fact]
    public async Task CheckCode_AnswersEveryMalformedCodeForARealVerification_WithoutA5xx_AndNoMalformedCodeCostsAnAttempt()
    {
        await using var app = await QuietAppAsync();
        var id = await QuietVerificationAsync(app);
        var malformed = Gen.OneOf(
            Gen.Char['0', '9'].Array[0, 3].Select(c => JsonSerializer.Serialize(new string(c))),
            Gen.Char['0', '9'].Array[11, 20].Select(c => JsonSerializer.Serialize(new string(c))),
            Gen.Char['0', '9'].Array[4, 10].Select(c => JsonSerializer.Serialize(new string(c) + "\n")),
            Gen.Char['0', '9'].Array[4, 10].Select(c => JsonSerializer.Serialize(" " + new string(c))),
            Gen.Const("\"١٢٣٤٥٦\""),
            Gen.Long.Select(l => l.ToString(CultureInfo.InvariantCulture)),
            Gen.OneOf(Gen.Const("null"), Gen.Const("[]"), Gen.Const("{}"), Gen.Const("true")));

        await malformed.SampleAsync(async code =>
            await AssertRefusedAsync(app, async () => await ExecuteAsync(await app.Api.CheckCode(Json("POST", "/", $$"""{"code":{{code}}}"""), id, app.Client, default))),
            iter: 300, threads: 1);

        Assert.Equal(0, (await app.GetAsync(id)).AttemptsUsed);
    }

    [Fact]
    public async Task TheWhatsAppWebhook_RefusesEveryUnsignedPayload_WithoutChangingARow_AndAnswersEverySignedOneWithoutA5xx()
    {
        await using var app = await QuietAppAsync();
        var id = await QuietVerificationAsync(app);
        var webhook = ActivatorUtilities.CreateInstance<WhatsAppStatusWebhook>(app.Services);
        var payloads = WhatsAppPayloads(id);
        var wrongSignatures = Gen.OneOf(
            Gen.Const((string?)null),
            Text.Select(t => (string?)t),
            Gen.Const((string?)"sha256="),
            Gen.Char["0123456789abcdef"].Array[64].Select(c => (string?)("sha256=" + new string(c))));

        await Gen.Select(payloads, wrongSignatures).SampleAsync(async (body, signature) =>
        {
            var request = Raw("POST", body);
            if (signature is not null)
            {
                request.Headers[WhatsAppSignature.HeaderName] = signature;
            }

            var response = await AssertRefusedAsync(app, async () => await ExecuteAsync(await webhook.WhatsAppStatusNotification(request, app.Client, default)));
            Assert.Equal(401, response.Status);
        }, iter: 200, threads: 1);

        await payloads.SampleAsync(async body =>
        {
            var request = Raw("POST", body);
            request.Headers[WhatsAppSignature.HeaderName] = WhatsAppSignature.Compute(Encoding.UTF8.GetBytes(body), TestSecrets.AppSecret);
            var response = await ExecuteAsync(await webhook.WhatsAppStatusNotification(request, app.Client, default));
            Assert.True(response.Status is 200 or 400, $"{response.Status}: {response.Body}");
            AssertOwnWords(response);
        }, iter: 300, threads: 1);

        // A signed "failed" above moved the verification on to its SMS, which the workflow sends in its own time; the
        // handshakes below must change nothing, so they start once its rows are still.
        await SettledRowsAsync(app);

        await Gen.Select(Text, Text, Text).SampleAsync(async (mode, token, challenge) =>
        {
            var request = Raw("GET", string.Empty);
            request.QueryString = QueryString.Create(new KeyValuePair<string, string?>[] { new("hub.mode", mode), new("hub.verify_token", token), new("hub.challenge", challenge) });
            var response = await AssertRefusedAsync(app, async () => await ExecuteAsync(webhook.WhatsAppWebhookHandshake(request)));
            Assert.Equal(403, response.Status);
        }, iter: 100, threads: 1);
    }

    [Fact]
    public async Task TheSmsDeliveryReportWebhook_RefusesEveryCallWithoutTheKey_WithoutChangingARow_AndAnswersEveryKeyedOneWithoutA5xx()
    {
        await using var app = await QuietAppAsync();
        var id = await QuietVerificationAsync(app);
        var webhook = ActivatorUtilities.CreateInstance<AcsDeliveryReportWebhook>(app.Services);
        var payloads = EventGridPayloads(id);
        var wrongKeys = Gen.OneOf(Gen.Const((string?)null), Text.Select(t => (string?)t), Gen.Const((string?)TestSecrets.SmsWebhookKey[..^1]));

        await Gen.Select(payloads, wrongKeys, Gen.Bool).SampleAsync(async (body, key, asHeader) =>
        {
            var request = WithKey(Raw("POST", body), key, asHeader);
            var response = await AssertRefusedAsync(app, async () => await ExecuteAsync(await webhook.AcsDeliveryReports(request, app.Client, default)));
            Assert.Equal(401, response.Status);
            var handshake = await AssertRefusedAsync(app, async () => await ExecuteAsync(webhook.AcsDeliveryReportsHandshake(WithKey(Raw("OPTIONS", string.Empty), key, asHeader))));
            Assert.Equal(401, handshake.Status);
        }, iter: 200, threads: 1);

        await Gen.Select(payloads, Gen.Bool).SampleAsync(async (body, asHeader) =>
        {
            var response = await ExecuteAsync(await webhook.AcsDeliveryReports(WithKey(Raw("POST", body), TestSecrets.SmsWebhookKey, asHeader), app.Client, default));
            Assert.True(response.Status is 200 or 400, $"{response.Status}: {response.Body}");
            AssertOwnWords(response);
        }, iter: 300, threads: 1);
    }

    /// <summary>WhatsApp-shaped notifications with every field at risk: statuses, timestamps, ids, errors, nesting.</summary>
    private static Gen<string> WhatsAppPayloads(string knownId)
    {
        var callback = Gen.OneOf(Text, Gen.Const($"v1:{knownId}"), Gen.Const("v1:"), Text.Select(t => "v1:" + t));
        var status = Gen.OneOf(Gen.OneOf(Gen.Const("sent"), Gen.Const("delivered"), Gen.Const("read"), Gen.Const("failed"), Gen.Const("played")), Text);
        var timestamp = Gen.Frequency(
            (4, Gen.Long.Select(l => JsonSerializer.Serialize(l.ToString(CultureInfo.InvariantCulture)))),
            (2, Gen.Long[1_230_768_000, 4_102_444_800].Select(l => JsonSerializer.Serialize(l.ToString(CultureInfo.InvariantCulture)))),
            (1, Gen.Const("\"99999999999999999999\"")),
            (1, JsonValue));
        var errors = Gen.Frequency(
            (3, Gen.Const("null")),
            (2, Gen.Select(Gen.Int, Text, (code, title) => $$"""[{"code":{{code}},"title":{{JsonSerializer.Serialize(title)}}}]""")),
            (1, JsonValue));
        var oneStatus = Gen.Select(Text, status, timestamp, callback, errors, (wamid, s, t, c, errors) =>
            $$"""{"id":{{JsonSerializer.Serialize(wamid)}},"status":{{JsonSerializer.Serialize(s)}},"timestamp":{{t}},"recipient_id":"16505551234","biz_opaque_callback_data":{{JsonSerializer.Serialize(c)}},"errors":{{errors}}}""");
        var notification = oneStatus.Array[0, 4].Select(statuses =>
            $$$"""{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","statuses":[{{{string.Join(",", statuses)}}}]}}]}]}""");
        return Gen.Frequency((5, notification), (1, Body("object", "entry")), (1, Text));
    }

    /// <summary>Event Grid and CloudEvents deliveries with every field at risk, and subscription validations.</summary>
    private static Gen<string> EventGridPayloads(string knownId)
    {
        var type = Gen.OneOf(Gen.Const("Microsoft.Communication.SMSDeliveryReportReceived"), Gen.Const("Microsoft.EventGrid.SubscriptionValidationEvent"), Text);
        var data = Gen.Select(JsonValue, JsonValue, Gen.OneOf(Gen.Const($"\"v1:{knownId}\""), JsonValue), JsonValue, JsonValue, (messageId, status, tag, received, code) =>
            $$"""{"messageId":{{messageId}},"deliveryStatus":{{status}},"tag":{{tag}},"receivedTimestamp":{{received}},"validationCode":{{code}},"deliveryAttempts":[]}""");
        var eventGrid = Gen.Select(type, data, JsonValue, (t, d, time) =>
            $$"""{"id":"1","topic":"/t","subject":"/phonenumber/1","eventType":{{JsonSerializer.Serialize(t)}},"eventTime":{{time}},"data":{{d}},"dataVersion":"1.0","metadataVersion":"1"}""");
        var cloudEvent = Gen.Select(type, data, JsonValue, (t, d, time) =>
            $$"""{"specversion":"1.0","id":"1","source":"/s","type":{{JsonSerializer.Serialize(t)}},"time":{{time}},"data":{{d}}}""");
        return Gen.Frequency(
            (3, eventGrid.Array[0, 3].Select(events => $"[{string.Join(",", events)}]")),
            (2, cloudEvent.Array[0, 3].Select(events => $"[{string.Join(",", events)}]")),
            (1, eventGrid),
            (1, cloudEvent),
            (1, Text),
            (1, JsonValue));
    }

    /// <summary>Runs one request: never a 5xx; a refusal is our own problem details and changes no row.</summary>
    private static async Task<WireResponse> AssertRefusedAsync(TestApp app, Func<Task<WireResponse>> call, int[]? allow = null)
    {
        var before = await SnapshotAsync(app);
        var response = await call();
        Assert.True(response.Status < 500, $"{response.Status}: {response.Body}");
        AssertOwnWords(response);
        if (response.Status >= 400 && response.Status != 422 || allow?.Contains(response.Status) == true)
        {
            Assert.Equal(before, await SnapshotAsync(app));
        }
        else if (response.Status is 200 or 202)
        {
            await SettleAsync(app, response);
        }

        return response;
    }

    private static void AssertOwnWords(WireResponse response)
    {
        if (response.Status < 400)
        {
            return;
        }

        Assert.Equal("application/problem+json", response.MediaType);
        Assert.StartsWith("urn:otpfailover:problem:", response.ProblemType, StringComparison.Ordinal);
        foreach (var leak in new[] { "Exception", "System.", " at Otp", "Microsoft.", "StackTrace", "LineNumber", "BytePosition" })
        {
            Assert.DoesNotContain(leak, response.Body, StringComparison.Ordinal);
        }
    }

    /// <summary>A start that did go through: let its orchestration reach its quiet wait before the next sample.</summary>
    private static async Task SettleAsync(TestApp app, WireResponse response)
    {
        if (response.Status == 202 && response.Json.TryGetProperty("id", out var id) && id.GetString() is { } started)
        {
            // Its first channel's send is done (the plan may start with SMS, or be one channel): the workflow then
            // waits, so rows change only by requests again.
            var first = response.Json.TryGetProperty("channel", out var channel) ? channel.GetString() : "whatsapp";
            var waiting = new HashSet<string?>(StringComparer.Ordinal) { $"\"{first}.{WorkflowPhases.AwaitingDelivery}\"", $"\"{first}.{WorkflowPhases.Sent}\"" };
            await Eventually.WaitUntilAsync(
                async () => waiting.Contains((await app.Client.GetInstanceAsync(started, getInputsAndOutputs: true))?.SerializedCustomStatus),
                TimeSpan.FromSeconds(45),
                $"verification {started} to wait after its first send");
        }
    }

    /// <summary>Waits until the app's rows have not changed for two seconds (the workflow acting on an earlier request).</summary>
    private static async Task SettledRowsAsync(TestApp app)
    {
        var last = await SnapshotAsync(app);
        var stillSince = DateTime.UtcNow;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow - stillSince < TimeSpan.FromSeconds(2))
        {
            Assert.True(DateTime.UtcNow < until, "the rows kept changing for a minute");
            await Task.Delay(250);
            var now = await SnapshotAsync(app);
            if (now != last)
            {
                (last, stillSince) = (now, DateTime.UtcNow);
            }
        }
    }

    private static async Task<string> SnapshotAsync(TestApp app) =>
        string.Join('\n', (await app.RowsAsync()).Select(r => $"{r.PartitionKey}/{r.RowKey}/{r.ETag}").Order(StringComparer.Ordinal));

    /// <summary>An app whose orchestrations stay in one wait for the whole test, so rows change only by requests.</summary>
    private static Task<TestApp> QuietAppAsync() =>
        TestApp.StartAsync(o => (o.CodeLifetime, o.WhatsAppDeliveryTimeout, o.MaxCheckAttempts) = (TimeSpan.FromHours(1), TimeSpan.FromMinutes(30), 20));

    private static async Task<string> QuietVerificationAsync(TestApp app)
    {
        var verification = await app.StartAsync(Number);
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.AwaitingWhatsAppDelivery);
        return verification.Id;
    }

    private static HttpRequest Raw(string method, string body)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentLength = bytes.Length;
        context.Request.ContentType = "application/json";
        return context.Request;
    }

    private static HttpRequest WithKey(HttpRequest request, string? key, bool asHeader)
    {
        if (key is null)
        {
            return request;
        }

        if (asHeader)
        {
            request.Headers["X-Webhook-Key"] = key;
        }
        else
        {
            request.QueryString = QueryString.Create("key", key);
        }

        request.Headers["WebHook-Request-Origin"] = "eventgrid.azure.net";
        return request;
    }
}
