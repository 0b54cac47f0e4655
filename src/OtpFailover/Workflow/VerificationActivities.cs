using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

/// <summary>
/// The workflow's activities, one class each: <see cref="SendCode"/>, <see cref="EndVerification"/> (expire, fail) and
/// <see cref="ReadVerification"/>. This is only their front door, so that the Functions triggers (and a test) need one
/// service. Each may run more than once for the same step; each is safe to.
/// </summary>
public sealed class VerificationActivities(SendCode send, EndVerification end, ReadVerification read)
{
    /// <inheritdoc cref="SendDetails.SmsRateLimited"/>
    public const string SmsRateLimited = SendDetails.SmsRateLimited;

    /// <inheritdoc cref="SendDetails.SmsBudgetExceeded"/>
    public const string SmsBudgetExceeded = SendDetails.SmsBudgetExceeded;

    /// <inheritdoc cref="SendDetails.OutcomeUnknown"/>
    public const string OutcomeUnknown = SendDetails.OutcomeUnknown;

    public Task<SendActivityResult> SendCodeAsync(SendCodeRequest request, CancellationToken cancellationToken) => send.RunAsync(request, cancellationToken);

    public Task<VerificationSnapshot> ReadVerificationAsync(string verificationId, CancellationToken cancellationToken) => read.RunAsync(verificationId, cancellationToken);

    public Task<VerificationStatus> ExpireAsync(EndVerificationRequest request, CancellationToken cancellationToken) => end.ExpireAsync(request, cancellationToken);

    public Task<VerificationStatus> FailAsync(EndVerificationRequest request, CancellationToken cancellationToken) => end.FailAsync(request, cancellationToken);
}
