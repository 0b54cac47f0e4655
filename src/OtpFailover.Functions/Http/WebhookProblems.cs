using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace OtpFailover.Functions.Http;

/// <summary>Problems a provider's webhook call can get; like <see cref="ApiProblems"/>, with a stable type.</summary>
public static class WebhookProblems
{
    public static ObjectResult Unauthorized(string detail) =>
        Create(StatusCodes.Status401Unauthorized, "webhook-unauthenticated", "The webhook call is not authenticated.", detail);

    public static ObjectResult Forbidden(string detail) =>
        Create(StatusCodes.Status403Forbidden, "webhook-handshake-refused", "The webhook subscription is refused.", detail);

    private static ObjectResult Create(int status, string slug, string title, string detail)
    {
        var result = new ObjectResult(new ProblemDetails { Status = status, Type = ApiProblems.TypePrefix + slug, Title = title, Detail = detail }) { StatusCode = status };
        result.ContentTypes.Add(ApiProblems.ContentType);
        return result;
    }
}
