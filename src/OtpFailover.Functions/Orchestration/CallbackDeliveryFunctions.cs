using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using OtpFailover.Callbacks;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Functions.Orchestration;

/// <summary>The status callbacks of one verification, delivered in order (see <see cref="CallbackDelivery"/>).</summary>
public sealed class CallbackDeliveryFunctions(CallbackActivities activities)
{
    [Function(CallbackDelivery.OrchestratorName)]
    public static Task RunAsync([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var input = context.GetInput<CallbackDeliveryInput>()
            ?? throw new InvalidOperationException("The orchestration was started without its input.");
        return CallbackDelivery.RunAsync(context, input);
    }

    [Function(CallbackDelivery.ActivityName)]
    public Task<CallbackBatchResult> DeliverAsync([ActivityTrigger] CallbackCursor cursor, CancellationToken cancellationToken) =>
        activities.DeliverAsync(cursor, cancellationToken);
}
