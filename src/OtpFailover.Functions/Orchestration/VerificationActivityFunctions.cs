using Microsoft.Azure.Functions.Worker;
using OtpFailover.Verifications;

namespace OtpFailover.Functions.Orchestration;

public sealed class VerificationActivityFunctions(VerificationActivities activities)
{
    [Function(ActivityNames.SendWhatsApp)]
    public Task<SendActivityResult> SendWhatsAppAsync([ActivityTrigger] string verificationId, CancellationToken cancellationToken) =>
        activities.SendWhatsAppAsync(verificationId, cancellationToken);

    [Function(ActivityNames.SendSms)]
    public Task<SendActivityResult> SendSmsAsync([ActivityTrigger] SmsFailoverRequest request, CancellationToken cancellationToken) =>
        activities.SendSmsAsync(request, cancellationToken);

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
