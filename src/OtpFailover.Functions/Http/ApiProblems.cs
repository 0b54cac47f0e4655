using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using OtpFailover.Abuse;
using OtpFailover.PhoneNumbers;

namespace OtpFailover.Functions.Http;

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

    /// <summary>The number cannot receive a code; <c>rule</c> says which rule failed (the number is never echoed).</summary>
    public static ObjectResult InvalidPhoneNumber(PhoneNumberProblem problem)
    {
        var (rule, detail) = problem switch
        {
            PhoneNumberProblem.Extension => ("extension", "phoneNumber carries an extension; a code can only go to a number without one."),
            PhoneNumberProblem.Invalid => ("invalid", "phoneNumber is not a valid number in its country's numbering plan (check the country code and the number of digits)."),
            _ => ("format", "phoneNumber must be an international number: '+', the country code and the number (for example +14155550123); spaces, dots, dashes and brackets are fine."),
        };
        return WithExtensions(Create(StatusCodes.Status400BadRequest, "invalid-phone-number", "The phone number is not valid.", detail), ("rule", rule));
    }

    /// <summary>A valid number of a kind that may not receive a code (premium-rate always; others by configuration).</summary>
    public static ObjectResult PhoneNumberTypeNotAllowed(PhoneNumberKind kind) =>
        WithExtensions(
            Create(StatusCodes.Status400BadRequest, "invalid-phone-number", "The phone number is not valid.", $"phoneNumber is a {Describe(kind)} number, and codes are not sent to that kind of number."),
            ("rule", "number-type"),
            ("numberType", JsonNamingPolicy.SnakeCaseLower.ConvertName(kind.ToString())));

    /// <summary>The email address cannot receive a code; <c>rule</c> says which rule failed (the address is never echoed).</summary>
    public static ObjectResult InvalidEmail(bool disposable) =>
        disposable
            ? WithExtensions(Create(StatusCodes.Status400BadRequest, "invalid-email", "The email address is not valid.", "email is at a domain codes are not sent to (Abuse:DisposableEmailDomains)."), ("rule", "disposable-domain"))
            : WithExtensions(Create(StatusCodes.Status400BadRequest, "invalid-email", "The email address is not valid.", $"email must be a plain address, local@domain, at most {EmailAddresses.EmailAddress.MaxLength} characters (no display name, no quotes, no IP address as the domain)."), ("rule", "format"));

    public static ObjectResult CountryNotAllowed(string regionCode) =>
        WithExtensions(
            Create(StatusCodes.Status403Forbidden, "country-not-allowed", "Codes are not sent to this country.", $"Numbers in {regionCode} may not receive a code here (Abuse:AllowedCountries, Abuse:BlockedCountries)."),
            ("country", regionCode));

    /// <summary>A limit refused the request; nothing was written. <c>Retry-After</c> says when it would fit.</summary>
    public static ObjectResult RateLimited(LimitDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var seconds = (long)Math.Ceiling(decision.RetryAfter.TotalSeconds);
        var (slug, title, detail) = decision.Limit switch
        {
            LimitKind.StartsPerClient => ("too-many-client-starts", "Too many verifications for this client.", "This client started as many verifications as its limit allows."),
            LimitKind.FailedChecksPerNumber => ("too-many-failed-checks", "Too many wrong codes for this number.", "This number had as many wrong codes as its limit allows, across all its verifications; it can neither be checked nor start a verification until the window passes."),
            LimitKind.SmsPerNumber => ("too-many-sms", "Too many SMS for this number.", "This number received as many SMS as its limit allows."),
            LimitKind.SmsPerCountry => ("sms-budget-exceeded", "The SMS budget for this country is spent.", "The hourly SMS budget for this number's country is spent; the code can still be used where it already went."),
            LimitKind.EmailPerAddress => ("too-many-emails", "Too many emails for this address.", "This email address received as many codes as its limit allows."),
            _ => ("too-many-starts", "Too many verifications for this number.", "This number started as many verifications as its limit allows."),
        };
        var result = WithExtensions(
            Create(StatusCodes.Status429TooManyRequests, slug, title, $"{detail} Try again in {seconds} seconds."),
            ("limit", decision.Setting ?? string.Empty),
            ("retryAfterSeconds", seconds));
        return new HeaderedResult(result, ("Retry-After", seconds.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>The start's <c>callbackUrl</c> may not be used; <c>rule</c> says why (the URL is never echoed).</summary>
    public static ObjectResult CallbackUrlNotAllowed(Callbacks.CallbackUrlProblem problem)
    {
        var (rule, detail) = problem switch
        {
            Callbacks.CallbackUrlProblem.NotEnabled => ("not-enabled", "callbackUrl cannot be used here: callbacks are off, or no host is allowed for a start's own URL (Callbacks:SigningKey, Callbacks:AllowedHosts)."),
            Callbacks.CallbackUrlProblem.NotHttps => ("https", "callbackUrl must be an https URL."),
            Callbacks.CallbackUrlProblem.HostNotAllowed => ("host", "callbackUrl names a host that is not allowed (Callbacks:AllowedHosts)."),
            _ => ("format", $"callbackUrl must be an absolute https URL of at most {Callbacks.CallbackUrlPolicy.MaxUrlLength} characters, without user information or a fragment."),
        };
        return WithExtensions(Create(StatusCodes.Status400BadRequest, "callback-url-not-allowed", "The callback URL may not be used.", detail), ("rule", rule));
    }

    public static ObjectResult IdempotencyKeyInUse() =>
        new HeaderedResult(
            Create(StatusCodes.Status409Conflict, "idempotency-key-in-use", "A start with this Idempotency-Key is still in progress.", "Another start with the same Idempotency-Key for this number has not finished; try again in a moment."),
            ("Retry-After", "1"));

    /// <summary>The request could not reach the verification's workflow; nothing changed.</summary>
    public static ObjectResult TemporarilyUnavailable(string detail) =>
        new HeaderedResult(
            Create(StatusCodes.Status503ServiceUnavailable, "temporarily-unavailable", "The request could not be completed now.", detail),
            ("Retry-After", "5"));

    public static ObjectResult InvalidCode() =>
        Create(StatusCodes.Status400BadRequest, "invalid-code", "The code is not valid.", "code must be a string of 4 to 10 digits.");

    public static ObjectResult NotFound(string id) =>
        Create(StatusCodes.Status404NotFound, "verification-not-found", "No such verification.", $"There is no verification '{id}'.");

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
        Create(StatusCodes.Status409Conflict, "no-channel-left", "No channel is left to send the code on.", "The code is on its channel plan's last channel already, a resend is already on its way, or the next channel has no provider configured.");

    private static ObjectResult WithStatus(ObjectResult result, string status) => WithExtensions(result, ("verificationStatus", status));

    private static ObjectResult WithExtensions(ObjectResult result, params (string Name, object Value)[] extensions)
    {
        foreach (var (name, value) in extensions)
        {
            ((ProblemDetails)result.Value!).Extensions[name] = value;
        }

        return result;
    }

    private static string Describe(PhoneNumberKind kind) => kind switch
    {
        PhoneNumberKind.PremiumRate => "premium-rate",
        PhoneNumberKind.SharedCost => "shared-cost",
        PhoneNumberKind.Uan => "universal access (UAN)",
        PhoneNumberKind.TollFree => "toll-free",
        PhoneNumberKind.FixedLine => "fixed-line",
        PhoneNumberKind.FixedLineOrMobile => "fixed-line or mobile",
        PhoneNumberKind.Voip => "VoIP",
        PhoneNumberKind.PersonalNumber => "personal (follow-me)",
        _ => kind.ToString().ToLowerInvariant(),
    };

    private static ObjectResult Create(int status, string slug, string title, string detail)
    {
        var problem = new ProblemDetails { Status = status, Type = TypePrefix + slug, Title = title, Detail = detail };
        var result = new ObjectResult(problem) { StatusCode = status };
        result.ContentTypes.Add(ContentType);
        return result;
    }
}

/// <summary>A problem answer that also sets response headers (<c>Retry-After</c>).</summary>
public sealed class HeaderedResult : ObjectResult
{
    public HeaderedResult(ObjectResult inner, params (string Name, string Value)[] headers)
        : base(inner?.Value)
    {
        ArgumentNullException.ThrowIfNull(inner);
        StatusCode = inner.StatusCode;
        ContentTypes = inner.ContentTypes;
        Headers = headers;
    }

    public IReadOnlyList<(string Name, string Value)> Headers { get; }

    public override void OnFormatting(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        base.OnFormatting(context);
        foreach (var (name, value) in Headers)
        {
            context.HttpContext.Response.Headers[name] = value;
        }
    }
}
