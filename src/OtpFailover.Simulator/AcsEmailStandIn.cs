using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace OtpFailover.Simulator;

/// <summary>A request as it reached the stand-in: its method, path and query, header names (lower case), and body.</summary>
public sealed record EmailRequest(string Method, string Path, string Query, IReadOnlySet<string> Headers, string Body);

/// <summary>An email the stand-in accepted.</summary>
public sealed record SentEmail(string From, string To, string Subject, string PlainText, string Html, string OperationId);

/// <summary>
/// Communication Services Email's send endpoint (<c>POST /emails:send</c>) on 127.0.0.1, checking what the service
/// checks: the HMAC signature (or a bearer token), the api-version, the sender, one recipient, a subject and a body.
/// A request with an <c>Operation-Id</c> it has seen is answered with that operation again, and sends nothing.
/// </summary>
public sealed class AcsEmailStandIn(byte[] accessKey, string? bearerToken = null) : LoopbackStandIn
{
    private readonly ConcurrentQueue<SentEmail> _sent = new();
    private readonly ConcurrentQueue<EmailRequest> _requests = new();
    private readonly ConcurrentDictionary<string, bool> _operations = new();
    private int _calls;

    public Uri Endpoint => BaseUrl;

    public string ConnectionString => $"endpoint={Endpoint};accesskey={Convert.ToBase64String(accessKey)}";

    /// <summary>Answers the n-th authenticated, well-formed new request (0-based).</summary>
    public Func<int, AcsAnswer> Answer { get; set; } = _ => AcsAnswer.Accept;

    public IReadOnlyList<SentEmail> Sent => [.. _sent];

    /// <summary>Every authenticated request, repeats and operation reads included.</summary>
    public IReadOnlyList<EmailRequest> Requests => [.. _requests];

    /// <summary>Every request that reached the endpoint.</summary>
    public int Calls => Volatile.Read(ref _calls);

    public int Unauthenticated { get; private set; }

    /// <summary>How long a repeatability id is tracked: a first-sent time older than this is refused (412).</summary>
    public TimeSpan RepeatabilityWindow { get; set; } = TimeSpan.FromMinutes(5);

    public TimeProvider Time { get; set; } = TimeProvider.System;

    public async Task<AcsEmailStandIn> StartAsync()
    {
        await StartLoopbackAsync();
        return this;
    }

    public override void Map(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost("/emails:send", (HttpRequest request) => HandleAsync(request.HttpContext));
        endpoints.MapGet("/emails/operations/{operationId}", (HttpRequest request, string operationId) => ReadOperationAsync(request.HttpContext, operationId));
    }

    /// <summary>The long-running operation's state, as a client polls it: every accepted email has been handed on.</summary>
    private async Task<IResult> ReadOperationAsync(HttpContext context, string operationId)
    {
        var body = await AcsRequestCheck.ReadBodyAsync(context);
        if (!AcsRequestCheck.IsAuthenticated(context.Request, body, accessKey, bearerToken))
        {
            Unauthenticated++;
            return AcsRequestCheck.Denied();
        }

        Record(context, body);
        return _operations.ContainsKey(operationId)
            ? Results.Json(new JsonObject { ["id"] = operationId, ["status"] = "Succeeded", ["error"] = null })
            : Results.Json(new { error = new { code = "NotFound", message = "No such operation." } }, statusCode: 404);
    }

    private void Record(HttpContext context, byte[] body) => _requests.Enqueue(new EmailRequest(
        context.Request.Method,
        context.Request.Path.Value ?? string.Empty,
        context.Request.QueryString.Value ?? string.Empty,
        context.Request.Headers.Keys.Select(k => k.ToLowerInvariant()).ToHashSet(),
        System.Text.Encoding.UTF8.GetString(body)));

    private async Task<IResult> HandleAsync(HttpContext context)
    {
        var call = Interlocked.Increment(ref _calls) - 1;
        var body = await AcsRequestCheck.ReadBodyAsync(context);
        if (!AcsRequestCheck.IsAuthenticated(context.Request, body, accessKey, bearerToken))
        {
            Unauthenticated++;
            return AcsRequestCheck.Denied();
        }

        Record(context, body);
        if (context.Request.Query["api-version"] is not { Count: 1 } version || version[0] is not ("2023-03-31" or "2025-09-01"))
        {
            return BadRequest("The api-version query parameter is missing or not supported.");
        }

        var operationHeader = context.Request.Headers["Operation-Id"].ToString();
        if (operationHeader.Length > 0 && !Guid.TryParse(operationHeader, out _))
        {
            return BadRequest("Operation-Id must be a UUID.");
        }

        if (Read(body) is not { } email)
        {
            return BadRequest("The request must name a senderAddress, one recipient in recipients.to, a subject, and plainText or html.");
        }

        var firstSent = context.Request.Headers["Repeatability-First-Sent"].ToString();
        if (firstSent.Length > 0 && DateTimeOffset.TryParseExact(firstSent, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var firstSentAt)
            && Time.GetUtcNow() - firstSentAt > RepeatabilityWindow)
        {
            context.Response.Headers["Repeatability-Result"] = "rejected";
            return Results.Json(new { error = new { code = "PreconditionFailed", message = "Repeatability-First-Sent is outside the tracking window." } }, statusCode: 412);
        }

        var operationId = operationHeader.Length > 0 ? operationHeader : Guid.NewGuid().ToString();
        if (_operations.ContainsKey(operationId))
        {
            return Accepted(context, operationId);
        }

        var answer = Answer(call);
        if (answer.HttpStatus != 202)
        {
            return AcsRequestCheck.Refusal(context, answer);
        }

        _operations.TryAdd(operationId, true);
        _sent.Enqueue(email with { OperationId = operationId });
        if (await AcsRequestCheck.LoseTheAnswerAsync(context, answer) is { } lost)
        {
            return lost;
        }

        return Accepted(context, operationId);
    }

    private IResult Accepted(HttpContext context, string operationId)
    {
        context.Response.Headers["Operation-Location"] = new Uri(Endpoint, $"emails/operations/{operationId}?api-version=2025-09-01").ToString();
        context.Response.Headers.RetryAfter = "30";
        return Results.Json(new JsonObject { ["id"] = operationId, ["status"] = "Running", ["error"] = null }, statusCode: 202);
    }

    private static SentEmail? Read(byte[] body)
    {
        try
        {
            var request = JsonNode.Parse(body)?.AsObject();
            var from = request?["senderAddress"]?.GetValue<string>();
            var to = request?["recipients"]?["to"] as JsonArray;
            var content = request?["content"];
            var subject = content?["subject"]?.GetValue<string>();
            var plain = content?["plainText"]?.GetValue<string>();
            var html = content?["html"]?.GetValue<string>();
            if (string.IsNullOrEmpty(from) || to is not { Count: 1 } || to[0]?["address"]?.GetValue<string>() is not { Length: > 0 } address
                || string.IsNullOrEmpty(subject) || (string.IsNullOrEmpty(plain) && string.IsNullOrEmpty(html)))
            {
                return null;
            }

            return new SentEmail(from, address, subject, plain ?? string.Empty, html ?? string.Empty, string.Empty);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static IResult BadRequest(string message) =>
        Results.Json(new { error = new { code = "BadRequest", message } }, statusCode: 400);
}
