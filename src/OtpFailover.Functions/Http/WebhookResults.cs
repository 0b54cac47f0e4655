using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using OtpFailover.Channels;

namespace OtpFailover.Functions.Http;

/// <summary>Answers a provider's webhook call over HTTP, from what the handler made of it.</summary>
public static class WebhookResults
{
    public static IActionResult ToHttp(WebhookResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Outcome switch
        {
            WebhookOutcome.Applied => new OkObjectResult(result.Summary),
            WebhookOutcome.Unauthorized => WebhookProblems.Unauthorized(result.Detail!),
            WebhookOutcome.Forbidden => WebhookProblems.Forbidden(result.Detail!),
            WebhookOutcome.Challenge => new ContentResult { StatusCode = StatusCodes.Status200OK, Content = result.Text, ContentType = "text/plain" },
            WebhookOutcome.Validation => new OkObjectResult(new { validationResponse = result.Text }),
            WebhookOutcome.AllowedOrigin => new AllowedOriginResult(result.Text!),
            _ => ApiProblems.InvalidRequest(result.Detail!),
        };
    }
}

/// <summary>200 with <c>WebHook-Allowed-Origin</c>: the answer to a CloudEvents webhook validation.</summary>
public sealed class AllowedOriginResult(string origin) : IActionResult
{
    public string Origin { get; } = origin;

    public Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.HttpContext.Response.StatusCode = StatusCodes.Status200OK;
        context.HttpContext.Response.Headers["WebHook-Allowed-Origin"] = Origin;
        return Task.CompletedTask;
    }
}
