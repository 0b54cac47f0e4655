using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Functions.Orchestration;

public static class VerificationOrchestrator
{
    [Function(VerificationWorkflow.OrchestratorName)]
    public static Task<VerificationStatus> RunAsync([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var input = context.GetInput<VerificationWorkflowInput>()
            ?? throw new InvalidOperationException("The orchestration was started without its input.");
        return VerificationWorkflow.RunAsync(context, input);
    }
}
