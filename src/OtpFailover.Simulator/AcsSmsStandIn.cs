using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace OtpFailover.Simulator;

/// <summary>An SMS the stand-in sent (a repeated request for the same repeatability id is not a new SMS).</summary>
public sealed record SentSms(string From, string To, string Message, string? Tag, bool DeliveryReport, string? RepeatabilityRequestId, string? RepeatabilityFirstSent, string MessageId);

/// <summary>How the stand-in answers one request.</summary>
public sealed record AcsAnswer(int HttpStatus, int? RecipientStatus = null, string? RecipientError = null, bool ProcessThenHang = false, TimeSpan? RetryAfter = null, bool ProcessThenDrop = false)
{
    public static AcsAnswer Accept { get; } = new(202);

    /// <summary>The SMS is sent, but the response never comes back (the client times out).</summary>
    public static AcsAnswer SendThenHang { get; } = new(202, ProcessThenHang: true);

    /// <summary>The SMS is sent, then the connection drops before the response.</summary>
    public static AcsAnswer SendThenDrop { get; } = new(202, ProcessThenDrop: true);

    /// <summary>429 with <c>Retry-After</c>, as the service throttles.</summary>
    public static AcsAnswer Throttled(TimeSpan retryAfter) => new(429, RetryAfter: retryAfter);

    public static AcsAnswer RecipientFailure(int status, string error) => new(202, status, error);

    public static AcsAnswer Status(int httpStatus) => new(httpStatus);
}

/// <summary>
/// Azure Communication Services' <c>POST /sms</c> on 127.0.0.1. It authenticates like the service: an HMAC-SHA256
/// signature over the method, path and query, date, host (with port) and content hash, or an Entra ID bearer token;
/// it validates the body, and it honours repeatability: a repeated request id gets the first result, not a new SMS.
/// </summary>
public sealed partial class AcsSmsStandIn(byte[] accessKey, string? bearerToken = null) : LoopbackStandIn
{
    private readonly ConcurrentQueue<SentSms> _sent = new();
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly ConcurrentDictionary<string, JsonObject> _firstResults = new();
    private readonly ConcurrentDictionary<string, string> _firstMessages = new();
    private int _calls;

    public Uri Endpoint => BaseUrl;

    public string ConnectionString => $"endpoint={Endpoint};accesskey={Convert.ToBase64String(accessKey)}";

    /// <summary>Answers the n-th authenticated, well-formed new request (0-based).</summary>
    public Func<int, AcsAnswer> Answer { get; set; } = _ => AcsAnswer.Accept;

    public IReadOnlyList<SentSms> Sent => [.. _sent];

    /// <summary>The body of every authenticated, well-formed request, repeats included.</summary>
    public IReadOnlyList<string> Requests => [.. _requests];

    /// <summary>How long a repeatability id is tracked: a first-sent time older than this is refused (unconfirmed for SMS).</summary>
    public TimeSpan RepeatabilityWindow { get; set; } = TimeSpan.FromMinutes(5);

    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Called for every SMS the stand-in sent (not for a repeated request).</summary>
    public Action<SentSms>? SmsSent { get; set; }

    /// <summary>Every request that reached the endpoint.</summary>
    public int Calls => Volatile.Read(ref _calls);

    public int Unauthenticated { get; private set; }

    public async Task<AcsSmsStandIn> StartAsync()
    {
        await StartLoopbackAsync();
        return this;
    }

    public override void Map(IEndpointRouteBuilder endpoints) => endpoints.MapPost("/sms", (HttpRequest request) => HandleAsync(request.HttpContext));

    private async Task<IResult> HandleAsync(HttpContext context)
    {
        var call = Interlocked.Increment(ref _calls) - 1;
        var body = await AcsRequestCheck.ReadBodyAsync(context);

        if (!IsAuthenticated(context.Request, body))
        {
            Unauthenticated++;
            return AcsRequestCheck.Denied();
        }

        if (context.Request.Query["api-version"] is not { Count: 1 } version || version[0] is not ("2021-03-07" or "2026-01-23"))
        {
            return BadRequest("The api-version query parameter is missing or not supported.");
        }

        if (Validate(body) is { } problem)
        {
            return problem;
        }

        var request = JsonNode.Parse(body)!.AsObject();
        _requests.Enqueue(System.Text.Encoding.UTF8.GetString(body));
        var recipient = request["smsRecipients"]![0]!.AsObject();
        var requestId = recipient["repeatabilityRequestId"]?.GetValue<string>();
        var firstSent = recipient["repeatabilityFirstSent"]?.GetValue<string>();
        if (firstSent is not null &&
            DateTimeOffset.TryParseExact(firstSent, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var firstSentAt) &&
            Time.GetUtcNow() - firstSentAt > RepeatabilityWindow)
        {
            return new RepeatabilityRejectedResult("repeatabilityFirstSent is outside the tracking window.");
        }

        if (requestId is not null && _firstResults.TryGetValue(requestId, out var first))
        {
            // A repeat must be the same request: a different message under a known id is refused, not sent.
            if (_firstMessages.TryGetValue(requestId, out var firstMessage) && firstMessage != request["message"]?.GetValue<string>())
            {
                return new RepeatabilityRejectedResult("The request differs from the first request with this repeatabilityRequestId.");
            }

            var repeated = first.DeepClone().AsObject();
            repeated["repeatabilityResult"] = "accepted";
            return Results.Json(new JsonObject { ["value"] = new JsonArray(repeated) }, statusCode: 202);
        }

        var answer = Answer(call);
        if (answer.HttpStatus != 202)
        {
            return AcsRequestCheck.Refusal(context, answer);
        }

        var to = recipient["to"]!.GetValue<string>();
        var item = new JsonObject { ["to"] = to };
        if (answer.RecipientStatus is { } failed)
        {
            item["httpStatusCode"] = failed;
            item["successful"] = false;
            item["errorMessage"] = answer.RecipientError;
        }
        else
        {
            var messageId = $"Outgoing_{DateTime.UtcNow:yyyyMMddHHmmss}_{Guid.NewGuid():N}_noam";
            item["messageId"] = messageId;
            item["httpStatusCode"] = 202;
            item["successful"] = true;
            var options = request["smsSendOptions"];
            var sms = new SentSms(
                request["from"]!.GetValue<string>(),
                to,
                request["message"]!.GetValue<string>(),
                options?["tag"]?.GetValue<string>(),
                options?["enableDeliveryReport"]?.GetValue<bool>() ?? false,
                requestId,
                recipient["repeatabilityFirstSent"]?.GetValue<string>(),
                messageId);
            _sent.Enqueue(sms);
            SmsSent?.Invoke(sms);
        }

        if (requestId is not null)
        {
            item["repeatabilityResult"] = "accepted";
            _firstResults.TryAdd(requestId, item);
            _firstMessages.TryAdd(requestId, request["message"]!.GetValue<string>());
        }

        if (await AcsRequestCheck.LoseTheAnswerAsync(context, answer) is { } lost)
        {
            return lost;
        }

        return Results.Json(new JsonObject { ["value"] = new JsonArray(item.DeepClone()) }, statusCode: 202);
    }

    private bool IsAuthenticated(HttpRequest request, byte[] body) => AcsRequestCheck.IsAuthenticated(request, body, accessKey, bearerToken);

    private static IResult? Validate(byte[] body)
    {
        JsonObject request;
        try
        {
            request = JsonNode.Parse(body)?.AsObject() ?? throw new FormatException();
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException or InvalidOperationException)
        {
            return BadRequest("The request body is not valid JSON.");
        }

        if (request["from"]?.GetValue<string>() is not { Length: > 0 })
        {
            return BadRequest("The From field is required.");
        }

        if (request["message"]?.GetValue<string>() is not { Length: > 0 and <= 2048 })
        {
            return BadRequest("The Message field is required and must be at most 2048 characters.");
        }

        if (request["smsRecipients"] is not JsonArray { Count: >= 1 and <= 100 } recipients)
        {
            return BadRequest("SmsRecipients must hold 1 to 100 recipients.");
        }

        foreach (var recipient in recipients)
        {
            if (recipient?["to"]?.GetValue<string>() is not { } to || !E164().IsMatch(to))
            {
                return BadRequest("Invalid To phone number format.");
            }

            var id = recipient["repeatabilityRequestId"]?.GetValue<string>();
            var firstSent = recipient["repeatabilityFirstSent"]?.GetValue<string>();
            if ((id is null) != (firstSent is null) ||
                (id is not null && !Guid.TryParse(id, out _)) ||
                (firstSent is not null && !DateTimeOffset.TryParseExact(firstSent, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _)))
            {
                return BadRequest("repeatabilityRequestId must be a GUID and repeatabilityFirstSent an RFC 1123 date, both or neither.");
            }
        }

        return null;
    }

    /// <summary>412 with <c>Repeatability-Result: rejected</c>: the repeat is refused, whatever the first request did.</summary>
    private sealed class RepeatabilityRejectedResult(string message) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers["Repeatability-Result"] = "rejected";
            return Results.Json(new { error = new { code = "PreconditionFailed", message } }, statusCode: 412).ExecuteAsync(httpContext);
        }
    }

    private static IResult BadRequest(string message) =>
        Results.Json(new { error = new { code = "BadRequest", message } }, statusCode: 400);


    [GeneratedRegex(@"^\+[1-9][0-9]{7,14}\z")]
    private static partial Regex E164();
}
