using Microsoft.DurableTask;
using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

/// <summary>
/// Registers the orchestrators and their activities under the names the Functions app gives them, with a worker of the
/// durable engine run outside Functions (a test host, the benchmark). The Functions app binds the same methods through
/// its triggers (<c>OtpFailover.Functions/Orchestration</c>).
/// </summary>
public static class WorkflowRegistration
{
    public static void AddVerificationWorkflow(this DurableTaskRegistry registry, VerificationActivities activities)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(activities);
        registry.AddOrchestratorFunc<VerificationWorkflowInput, VerificationStatus>(VerificationWorkflow.OrchestratorName, (context, input) => VerificationWorkflow.RunAsync(context, input!));
        registry.AddActivityFunc<SendCodeRequest, SendActivityResult>(ActivityNames.SendCode, (_, request) => activities.SendCodeAsync(request!, CancellationToken.None));
        registry.AddActivityFunc<EndVerificationRequest, VerificationStatus>(ActivityNames.Expire, (_, request) => activities.ExpireAsync(request!, CancellationToken.None));
        registry.AddActivityFunc<EndVerificationRequest, VerificationStatus>(ActivityNames.Fail, (_, request) => activities.FailAsync(request!, CancellationToken.None));
        registry.AddActivityFunc<string, VerificationSnapshot>(ActivityNames.ReadVerification, (_, id) => activities.ReadVerificationAsync(id!, CancellationToken.None));
    }

    public static void AddCallbackDelivery(this DurableTaskRegistry registry, CallbackActivities activities)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(activities);
        registry.AddOrchestratorFunc<CallbackDeliveryInput>(CallbackDelivery.OrchestratorName, (context, input) => CallbackDelivery.RunAsync(context, input!));
        registry.AddActivityFunc<CallbackCursor, CallbackBatchResult>(CallbackDelivery.ActivityName, (_, cursor) => activities.DeliverAsync(cursor!, CancellationToken.None));
    }
}
