using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

#pragma warning disable DURABLE0010 // The logger is context.CreateReplaySafeLogger's: see VerificationWorkflow.

/// <summary>The workflow's activity calls, each retried, each waking the callback delivery after it.</summary>
internal sealed partial class WorkflowRun
{
    private static readonly TaskOptions ActivityRetry = TaskOptions.FromRetryPolicy(
        new RetryPolicy(maxNumberOfAttempts: 4, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2));

    private async Task<SendActivityResult> SendAsync(SendCodeRequest request)
    {
        try
        {
            return await context.CallActivityAsync<SendActivityResult>(ActivityNames.SendCode, request, ActivityRetry);
        }
        catch (TaskFailedException ex)
        {
            logger.LogError("Verification {VerificationId}: sending by {Channel} failed after retries: {ErrorType}", _id, request.Channel, ex.FailureDetails.ErrorType);
            return new SendActivityResult(false, VerificationStatus.Pending, $"{WireNames.Of(request.Channel)}_send_error", Unknown: true);
        }
        finally
        {
            WakeCallbacks();
        }
    }

    private async Task<VerificationStatus> EndAsync(string activity, EndVerificationRequest request)
    {
        try
        {
            return await context.CallActivityAsync<VerificationStatus>(activity, request, ActivityRetry);
        }
        finally
        {
            WakeCallbacks();
        }
    }

    /// <summary>A step may have recorded events (sent, failover, an ending): the callback delivery reads the row.</summary>
    private void WakeCallbacks()
    {
        if (input.Callbacks)
        {
            context.SendEvent(Workflows.CallbackInstanceIdFor(_id), Workflows.CallbacksPendingEvent, true);
        }
    }

    private static DateTimeOffset? Utc(DateTime? at) => at is { } value ? new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc)) : null;
}
#pragma warning restore DURABLE0010
