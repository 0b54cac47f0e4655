using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace OtpFailover.Simulator;

/// <summary>A template message the stand-in accepted for checking (whatever it then answered).</summary>
public sealed record ReceivedTemplate(string To, string TemplateName, string Language, string BodyCode, string ButtonCode, string? CallbackData, string MessageId, string RawJson);

/// <summary>How the stand-in answers one call.</summary>
public sealed record StandInAnswer(int HttpStatus, int? ErrorCode = null, string? ErrorTitle = null, bool Hang = false, bool Drop = false)
{
    public static StandInAnswer Accept { get; } = new(200);

    public static StandInAnswer Hanging { get; } = new(200, Hang: true);

    /// <summary>The request is read, then the connection is dropped without an answer.</summary>
    public static StandInAnswer Dropped { get; } = new(0, Drop: true);

    public static StandInAnswer GraphError(int httpStatus, int code, string title) => new(httpStatus, code, title);

    public static StandInAnswer BareStatus(int httpStatus) => new(httpStatus);
}

/// <summary>
/// Meta's Graph API <c>POST /{version}/{phone-number-id}/messages</c> for authentication templates, on 127.0.0.1.
/// It checks what the real API checks (bearer token, path, the template payload) and answers like it, with
/// <c>{ error: { code, … } }</c> bodies for refusals. <see cref="Answer"/> scripts the answers per call.
/// </summary>
public sealed partial class WhatsAppCloudApiStandIn : LoopbackStandIn
{
    private readonly ConcurrentQueue<ReceivedTemplate> _received = new();
    private int _calls;

    /// <param name="otherLanguages">Further languages the template is approved in (Meta refuses any other).</param>
    public WhatsAppCloudApiStandIn(string accessToken, string phoneNumberId, string apiVersion, string templateName, string templateLanguage, IEnumerable<string>? otherLanguages = null)
    {
        AccessToken = accessToken;
        PhoneNumberId = phoneNumberId;
        ApiVersion = apiVersion;
        TemplateName = templateName;
        TemplateLanguage = templateLanguage;
        TemplateLanguages = new HashSet<string>((otherLanguages ?? []).Append(templateLanguage), StringComparer.Ordinal);
    }

    public string AccessToken { get; }

    public string PhoneNumberId { get; }

    public string ApiVersion { get; }

    public string TemplateName { get; }

    public string TemplateLanguage { get; }

    /// <summary>Every language the template is approved in.</summary>
    public IReadOnlySet<string> TemplateLanguages { get; }

    /// <summary>Answers the n-th well-formed call (0-based); by default every call is accepted.</summary>
    public Func<ReceivedTemplate, int, StandInAnswer> Answer { get; set; } = (_, _) => StandInAnswer.Accept;

    public IReadOnlyList<ReceivedTemplate> Received => [.. _received];

    /// <summary>Called for every template the stand-in accepted (answered with a message id).</summary>
    public Action<ReceivedTemplate>? Accepted { get; set; }

    /// <summary>Calls that reached the endpoint, well-formed or not.</summary>
    public int Calls => Volatile.Read(ref _calls);

    public async Task<WhatsAppCloudApiStandIn> StartAsync()
    {
        await StartLoopbackAsync();
        return this;
    }

    public override void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost("/{version}/{phoneNumberId}/messages", HandleAsync);

    private async Task<IResult> HandleAsync(HttpContext context, string version, string phoneNumberId)
    {
        Interlocked.Increment(ref _calls);
        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization != $"Bearer {AccessToken}")
        {
            return Error(401, 190, "OAuthException", "Error validating access token: The session is invalid.");
        }

        if (version != ApiVersion || phoneNumberId != PhoneNumberId)
        {
            return Error(400, 100, "GraphMethodException", $"Unsupported post request. Object with ID '{phoneNumberId}' does not exist.");
        }

        if (!(context.Request.ContentType ?? string.Empty).StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return Error(400, 100, "OAuthException", "(#100) The parameter messaging_product is required.");
        }

        using var reader = new StreamReader(context.Request.Body);
        var raw = await reader.ReadToEndAsync(context.RequestAborted);
        var (received, problem) = Parse(raw);
        if (problem is not null)
        {
            return problem;
        }

        _received.Enqueue(received!);
        var answer = Answer(received!, _received.Count - 1);
        if (answer.Hang)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return Results.Empty;
        }

        if (answer.Drop)
        {
            context.Abort();
            return Results.Empty;
        }

        if (answer.ErrorCode is { } code)
        {
            return Error(answer.HttpStatus, code, "OAuthException", $"({code}) {answer.ErrorTitle}", answer.ErrorTitle);
        }

        if (answer.HttpStatus != 200)
        {
            return Results.StatusCode(answer.HttpStatus);
        }

        Accepted?.Invoke(received!);
        return Results.Json(new
        {
            messaging_product = "whatsapp",
            contacts = new[] { new { input = received!.To, wa_id = received.To.TrimStart('+') } },
            messages = new[] { new { id = received.MessageId } },
        });
    }

    private (ReceivedTemplate? Received, IResult? Problem) Parse(string raw)
    {
        JsonNode? body;
        try
        {
            body = JsonNode.Parse(raw);
        }
        catch (JsonException)
        {
            return (null, Error(400, 100, "OAuthException", "(#100) Invalid JSON for postbody"));
        }

        string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

        if (Text(body?["messaging_product"]) != "whatsapp")
        {
            return (null, Error(400, 100, "OAuthException", "(#100) The parameter messaging_product is required."));
        }

        var to = Text(body!["to"]);
        if (to is null || !Recipient().IsMatch(to))
        {
            return (null, Error(400, 100, "OAuthException", "(#100) Invalid parameter: to"));
        }

        if ((Text(body["recipient_type"]) ?? "individual") != "individual" || Text(body["type"]) != "template")
        {
            return (null, Error(400, 100, "OAuthException", "(#100) Param type must be one of {TEXT, TEMPLATE, ...}"));
        }

        var callback = body["biz_opaque_callback_data"];
        if (callback is not null && (Text(callback) is not { } data || data.Length > 512))
        {
            return (null, Error(400, 100, "OAuthException", "(#100) biz_opaque_callback_data must be a string of at most 512 characters"));
        }

        var template = body["template"];
        var language = Text(template?["language"]?["code"]);
        if (Text(template?["name"]) != TemplateName || language is null || !TemplateLanguages.Contains(language))
        {
            return (null, Error(404, 132001, "OAuthException", "(#132001) Template name does not exist in the translation"));
        }

        var components = template!["components"] as JsonArray ?? [];
        var bodyComponent = components.FirstOrDefault(c => Text(c?["type"]) == "body");
        var button = components.FirstOrDefault(c => Text(c?["type"]) == "button");
        var bodyCode = SingleTextParameter(bodyComponent);
        var buttonCode = SingleTextParameter(button);
        if (bodyCode is null || buttonCode is null || Text(button!["sub_type"]) != "url" || Text(button["index"]) != "0" || bodyCode != buttonCode || bodyCode.Length > 15)
        {
            return (null, Error(400, 132000, "OAuthException", "(#132000) Number of parameters does not match the expected number of params"));
        }

        var messageId = WhatsAppMessageIds.Mint(to);
        return (new ReceivedTemplate(to, TemplateName, language, bodyCode, buttonCode, Text(callback), messageId, raw), null);

        string? SingleTextParameter(JsonNode? component) =>
            component?["parameters"] is JsonArray { Count: 1 } parameters && Text(parameters[0]?["type"]) == "text" ? Text(parameters[0]?["text"]) : null;
    }

    private static IResult Error(int status, int code, string type, string message, string? title = null) =>
        Results.Json(
            new { error = new { message, type, code, error_data = new { messaging_product = "whatsapp", details = title ?? message }, fbtrace_id = "AbCdEfStandIn" } },
            statusCode: status);


    [GeneratedRegex(@"^\+?[1-9][0-9]{7,14}\z")]
    private static partial Regex Recipient();
}
