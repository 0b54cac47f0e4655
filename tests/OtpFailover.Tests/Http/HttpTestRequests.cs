using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Channels;

namespace OtpFailover.Tests.Http;

/// <summary>Real <see cref="HttpRequest"/>s in, and results written out the way ASP.NET Core writes them.</summary>
public static class HttpTestRequests
{
    private static readonly IServiceProvider ResultServices = new ServiceCollection().AddLogging().AddMvcCore().Services.BuildServiceProvider();

    public static HttpRequest Json(string method, string path, string? body = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        if (body is not null)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            context.Request.ContentType = "application/json";
            context.Request.ContentLength = bytes.Length;
            context.Request.Body = new MemoryStream(bytes);
        }

        return context.Request;
    }

    /// <summary>JSON readers disagree about duplicate keys (first or last wins), so no response may have any.</summary>
    private static void AssertNoDuplicateKeys(string text)
    {
        if (!text.TrimStart().StartsWith('{'))
        {
            return;
        }

        using var document = JsonDocument.Parse(text);
        var names = document.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(names.Distinct(StringComparer.Ordinal).Count(), names.Count);
    }

    /// <summary>A webhook handler's result, answered as the Functions app answers it.</summary>
    public static Task<WireResponse> ExecuteAsync(OtpFailover.Channels.WebhookResult result) =>
        ExecuteAsync(OtpFailover.Functions.Http.WebhookResults.ToHttp(result));

    public static async Task<WireResponse> ExecuteAsync(IActionResult result)
    {
        var context = new DefaultHttpContext { RequestServices = ResultServices };
        context.Response.Body = new MemoryStream();
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
        context.Response.Body.Position = 0;
        var text = await new StreamReader(context.Response.Body).ReadToEndAsync();
        AssertNoDuplicateKeys(text);
        return new WireResponse(context.Response.StatusCode, context.Response.ContentType, context.Response.Headers.Location.ToString(), text)
        {
            Headers = context.Response.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
        };
    }
}

public sealed record WireResponse(int Status, string? ContentType, string Location, string Body)
{
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string? ProblemType => Json.GetProperty("type").GetString();

    /// <summary>The content type without parameters (<c>; charset=utf-8</c>).</summary>
    public string? MediaType => ContentType is null ? null : Microsoft.Net.Http.Headers.MediaTypeHeaderValue.Parse(ContentType).MediaType.Value;
}
