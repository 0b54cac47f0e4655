using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace OtpFailover.Http;

/// <summary>
/// RFC 9457 problem details with a stable <c>type</c> per error, answered as <c>application/problem+json</c>.
/// Clients branch on <c>type</c>; <c>title</c> and <c>detail</c> are for people.
/// </summary>
public static class ApiProblems
{
    public const string ContentType = "application/problem+json";
    public const string TypePrefix = "urn:otpfailover:problem:";

    public static ObjectResult InvalidRequest(string detail) =>
        Create(StatusCodes.Status400BadRequest, "invalid-request", "The request is not valid.", detail);

    public static ObjectResult InvalidPhoneNumber() =>
        Create(StatusCodes.Status400BadRequest, "invalid-phone-number", "The phone number is not valid.", "phoneNumber must be an E.164 number: '+', the country code and the number, 8 to 15 digits in all (for example +14155550123).");

    public static ObjectResult InvalidCode() =>
        Create(StatusCodes.Status400BadRequest, "invalid-code", "The code is not valid.", "code must be a string of 4 to 10 digits.");

    public static ObjectResult NotFound(string id) =>
        Create(StatusCodes.Status404NotFound, "verification-not-found", "No such verification.", $"There is no verification '{id}'.");

    public static ObjectResult VerificationInFlight(string verificationId)
    {
        var result = Create(StatusCodes.Status409Conflict, "verification-in-flight", "A verification is already in flight for this number.", "Finish, cancel or wait out the verification in flight before starting another.");
        ((ProblemDetails)result.Value!).Extensions["verificationId"] = verificationId;
        return result;
    }

    public static ObjectResult IncorrectCode(int attemptsRemaining, string status)
    {
        var result = Create(StatusCodes.Status422UnprocessableEntity, "incorrect-code", "The code is not correct.", attemptsRemaining > 0 ? $"{attemptsRemaining} attempts remain." : "No attempts remain: the verification has ended.");
        var problem = (ProblemDetails)result.Value!;
        problem.Extensions["attemptsRemaining"] = attemptsRemaining;
        problem.Extensions["verificationStatus"] = status;
        return result;
    }

    /// <summary>The verification has ended and can never be approved now (expired, too many attempts, failed).</summary>
    public static ObjectResult VerificationGone(string status) =>
        WithStatus(Create(StatusCodes.Status410Gone, "verification-ended", "The verification has ended.", $"The verification is {status}; start a new one."), status);

    /// <summary>The verification has ended by a decision (approved, canceled) that this request would contradict.</summary>
    public static ObjectResult VerificationEnded(string status) =>
        WithStatus(Create(StatusCodes.Status409Conflict, "verification-ended", "The verification has ended.", $"The verification is {status}."), status);

    public static ObjectResult NoChannelLeft() =>
        Create(StatusCodes.Status409Conflict, "no-channel-left", "No channel is left to send the code on.", "The code has already been sent (or requested) by SMS, the last channel.");

    private static ObjectResult WithStatus(ObjectResult result, string status)
    {
        ((ProblemDetails)result.Value!).Extensions["verificationStatus"] = status;
        return result;
    }

    private static ObjectResult Create(int status, string slug, string title, string detail)
    {
        var problem = new ProblemDetails { Status = status, Type = TypePrefix + slug, Title = title, Detail = detail };
        var result = new ObjectResult(problem) { StatusCode = status };
        result.ContentTypes.Add(ContentType);
        return result;
    }
}
