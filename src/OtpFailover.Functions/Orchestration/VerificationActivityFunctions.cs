using Microsoft.Azure.Functions.Worker;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Functions.Orchestration;

public sealed class VerificationActivityFunctions(VerificationActivities activities)
{
    [Function(ActivityNames.SendCode)]
    public Task<SendActivityResult> SendCodeAsync([ActivityTrigger] SendCodeRequest request, CancellationToken cancellationToken) =>
        activities.SendCodeAsync(request, cancellationToken);

    [Function(ActivityNames.ReadVerification)]
    public Task<VerificationSnapshot> ReadVerificationAsync([ActivityTrigger] string verificationId, CancellationToken cancellationToken) =>
        activities.ReadVerificationAsync(verificationId, cancellationToken);

    [Function(ActivityNames.Expire)]
    public Task<VerificationStatus> ExpireAsync([ActivityTrigger] EndVerificationRequest request, CancellationToken cancellationToken) =>
        activities.ExpireAsync(request, cancellationToken);

    [Function(ActivityNames.Fail)]
    public Task<VerificationStatus> FailAsync([ActivityTrigger] EndVerificationRequest request, CancellationToken cancellationToken) =>
        activities.FailAsync(request, cancellationToken);
}
