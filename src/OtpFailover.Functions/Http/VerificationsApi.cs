using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using OtpFailover.Abuse;
using OtpFailover.Callbacks;
using OtpFailover.Channels;
using OtpFailover.EmailAddresses;
using OtpFailover.PhoneNumbers;
using OtpFailover.Verifications;

namespace OtpFailover.Functions.Http;

/// <summary>The public API, <c>/api/verifications…</c>, behind a function key.</summary>
public sealed partial class VerificationsApi(
    StartVerification start,
    GetVerification get,
    CheckCode check,
    ResendCode resend,
    CancelVerification cancel,
    PhoneNumberPolicy policy,
    IOptions<AbuseOptions> abuse,
    CallbackUrlPolicy callbacks,
    ChannelPlanner planner,
    TimeProvider time)
{
    public const int MaxClientReferenceLength = 128;
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>Short keys are guessable; a key is meant to be a random value (a UUID) made once per form.</summary>
    public const int MinIdempotencyKeyLength = 16;

    [Function(nameof(StartVerification))]
    public async Task<IActionResult> StartVerification(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "verifications")] HttpRequest request,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync<StartVerificationRequest>(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (!PhoneNumber.TryParse(body!.PhoneNumber, out var phoneNumber, out var numberProblem))
        {
            return ApiProblems.InvalidPhoneNumber(numberProblem);
        }

        switch (policy.Check(phoneNumber))
        {
            case PhoneNumberRefusal.KindNotAllowed:
                return ApiProblems.PhoneNumberTypeNotAllowed(phoneNumber.Kind);
            case PhoneNumberRefusal.CountryNotAllowed:
                return ApiProblems.CountryNotAllowed(phoneNumber.RegionCode);
        }

        if (body.ClientReference is { Length: > MaxClientReferenceLength })
        {
            return ApiProblems.InvalidRequest($"clientReference must be at most {MaxClientReferenceLength} characters.");
        }

        // Every client the caller names is counted: a visitor who can mint session keys cannot escape its IP's limit.
        var clientSubjects = new List<string>();
        if (body.ClientKey is not null)
        {
            if (!ClientKeys.TryNormalizeKey(body.ClientKey, out var keySubject))
            {
                return ApiProblems.InvalidRequest($"clientKey must be 1 to {ClientKeys.MaxKeyLength} printable ASCII characters without spaces.");
            }

            clientSubjects.Add(keySubject);
        }

        if (body.ClientIp is not null)
        {
            if (!ClientKeys.TryNormalizeIp(body.ClientIp, out var ipSubject))
            {
                return ApiProblems.InvalidRequest("clientIp must be an IPv4 or IPv6 address.");
            }

            clientSubjects.Add(ipSubject);
        }

        Uri? callbackUrl = null;
        if (body.CallbackUrl is not null && callbacks.Check(body.CallbackUrl, out callbackUrl) is var callbackProblem and not CallbackUrlProblem.None)
        {
            return ApiProblems.CallbackUrlNotAllowed(callbackProblem);
        }

        string? locale = null;
        if (body.Locale is not null && !Locales.TryNormalize(body.Locale, out locale))
        {
            return ApiProblems.InvalidRequest("locale must be a BCP 47 language tag such as en, es or pt-BR.");
        }

        EmailAddress? email = null;
        if (body.Email is not null)
        {
            if (!EmailAddress.TryParse(body.Email, out email))
            {
                return ApiProblems.InvalidEmail(disposable: false);
            }

            if (abuse.Value.IsDisposableEmailDomain(email.Domain))
            {
                return ApiProblems.InvalidEmail(disposable: true);
            }
        }

        IReadOnlyList<Channel>? channels = null;
        if (body.Channels is not null)
        {
            if (!ChannelNames.TryParseList(body.Channels, out var requested, out var channelsError))
            {
                return ApiProblems.InvalidRequest($"channels: {channelsError}");
            }

            if (planner.Refuse(requested, phoneNumber.RegionCode, hasEmail: email is not null) is { } refusal)
            {
                return ApiProblems.InvalidRequest(refusal);
            }

            channels = requested;
        }

        if (planner.RefuseUnreachable(phoneNumber.RegionCode, channels, hasEmail: email is not null) is { } unreachable)
        {
            return ApiProblems.InvalidRequest(unreachable);
        }

        var idempotencyKey = request.Headers[IdempotencyKeyHeader];
        if (idempotencyKey.Count > 1 || (idempotencyKey.Count == 1 && !IdempotencyKeyPattern().IsMatch(idempotencyKey[0] ?? string.Empty)))
        {
            return ApiProblems.InvalidRequest($"{IdempotencyKeyHeader} must be one value of {MinIdempotencyKeyLength} to 255 printable ASCII characters: a random value made once per form (a UUID).");
        }

        var result = await start.RunAsync(
            new StartRequest(phoneNumber, body.ClientReference, clientSubjects, idempotencyKey.Count == 1 ? idempotencyKey[0] : null, callbackUrl, locale, channels, email),
            durable,
            cancellationToken);
        return result.Outcome switch
        {
            StartOutcome.Started => new AcceptedResult($"/api/verifications/{result.Verification!.Id}", Started(result.Verification)),
            StartOutcome.Replayed => new OkObjectResult(Started(result.Verification!)) { StatusCode = StatusCodes.Status200OK },
            StartOutcome.RateLimited => ApiProblems.RateLimited(result.Limit!),
            _ => ApiProblems.IdempotencyKeyInUse(),
        };

        VerificationStarted Started(Verification verification) =>
            new(verification.Id, verification.EffectiveStatus(time.GetUtcNow()), verification.Channel, verification.ExpiresAt);
    }

    [Function(nameof(GetVerification))]
    public async Task<IActionResult> GetVerification(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "verifications/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var verification = IsWellFormedId(id) ? await get.RunAsync(id, cancellationToken) : null;
        return verification is null
            ? ApiProblems.NotFound(id)
            : new OkObjectResult(VerificationResource.From(verification, time.GetUtcNow()));
    }

    [Function(nameof(CheckCode))]
    public async Task<IActionResult> CheckCode(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "verifications/{id}/check")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken)
    {
        if (!IsWellFormedId(id))
        {
            return ApiProblems.NotFound(id);
        }

        var (body, problem) = await JsonBody.ReadAsync<CheckCodeRequest>(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (body!.Code is not { } code || !CodePattern().IsMatch(code))
        {
            return ApiProblems.InvalidCode();
        }

        var result = await check.RunAsync(id, code, durable, cancellationToken);
        var verification = result.Verification;
        return result.Outcome switch
        {
            CheckOutcome.NotFound => ApiProblems.NotFound(id),
            CheckOutcome.RateLimited => ApiProblems.RateLimited(result.Limit!),
            CheckOutcome.Approved => new OkObjectResult(new CheckApproved(id, VerificationStatus.Approved)),
            CheckOutcome.Incorrect or CheckOutcome.MaxAttemptsReached =>
                ApiProblems.IncorrectCode(verification!.AttemptsRemaining, WireNames.Of(verification.Status)),
            _ => Ended(verification!),
        };
    }

    [Function(nameof(ResendCode))]
    public async Task<IActionResult> ResendCode(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "verifications/{id}/resend")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken)
    {
        if (!IsWellFormedId(id))
        {
            return ApiProblems.NotFound(id);
        }

        var result = await resend.RunAsync(id, durable, cancellationToken);
        return result.Outcome switch
        {
            ChangeOutcome.NotFound => ApiProblems.NotFound(id),
            ChangeOutcome.NoChannelLeft => ApiProblems.NoChannelLeft(),
            ChangeOutcome.RateLimited => ApiProblems.RateLimited(result.Limit!),
            ChangeOutcome.NotDelivered => ApiProblems.TemporarilyUnavailable("The request to send the code on the next channel could not reach the verification's workflow; nothing changed. Try again."),
            ChangeOutcome.AlreadyEnded => ApiProblems.VerificationEnded(WireNames.Of(result.Verification!.EffectiveStatus(time.GetUtcNow()))),
            _ => new AcceptedResult(
                $"/api/verifications/{id}",
                new VerificationStarted(id, VerificationStatus.Pending, result.Channel!.Value, result.Verification!.ExpiresAt)),
        };
    }

    [Function(nameof(CancelVerification))]
    public async Task<IActionResult> CancelVerification(
        [HttpTrigger(AuthorizationLevel.Function, "delete", Route = "verifications/{id}")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken)
    {
        if (!IsWellFormedId(id))
        {
            return ApiProblems.NotFound(id);
        }

        var result = await cancel.RunAsync(id, durable, cancellationToken);
        return result.Outcome switch
        {
            ChangeOutcome.NotFound => ApiProblems.NotFound(id),
            ChangeOutcome.Done => new NoContentResult(),
            _ => ApiProblems.VerificationEnded(WireNames.Of(result.Verification!.Status)),
        };
    }

    /// <summary>Approved and canceled contradict a check (409); expired, failed and max attempts are gone (410).</summary>
    private static ObjectResult Ended(Verification verification)
    {
        var status = WireNames.Of(verification.Status);
        return verification.Status is VerificationStatus.Approved or VerificationStatus.Canceled
            ? ApiProblems.VerificationEnded(status)
            : ApiProblems.VerificationGone(status);
    }

    private static bool IsWellFormedId(string id) => VerificationIds.IsWellFormed(id);

    [GeneratedRegex(@"^[0-9]{4,10}\z", RegexOptions.CultureInvariant)]
    private static partial Regex CodePattern();

    [GeneratedRegex(@"^[\x21-\x7E]{16,255}\z", RegexOptions.CultureInvariant)]
    private static partial Regex IdempotencyKeyPattern();
}
