using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace OtpFailover.Verifications;

/// <summary>
/// Tells a verification's workflows what its row now says: the only place that raises their events. The row is already
/// right when they are told, so every signal is best effort: a lost one only means the workflow acts on its next timer
/// (or its next read of the row), and the callback delivery at its next look.
/// </summary>
public sealed partial class WorkflowSignals(CallbackEvents callbackEvents, ILogger<WorkflowSignals> logger)
{
    /// <summary>Signals the verification's workflow; false when it could not be told.</summary>
    public async Task<bool> SignalAsync(DurableTaskClient durable, string id, VerificationSignal signal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(durable);
        ArgumentNullException.ThrowIfNull(signal);
        try
        {
            await durable.RaiseEventAsync(id, Workflows.SignalEvent, signal, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSignalFailed(ex, id, signal.Kind);
            return false;
        }
    }

    /// <summary>A write ended the verification (<paramref name="row"/> as it left it): its workflow and its callback delivery hear of it.</summary>
    public async Task EndedAsync(DurableTaskClient durable, VerificationEntity row)
    {
        ArgumentNullException.ThrowIfNull(row);
        await SignalAsync(durable, row.Id, VerificationSignal.EndedWith(row.StatusValue), CancellationToken.None);
        await NotifyCallbacksAsync(durable, row);
    }

    /// <summary>
    /// Wakes the verification's callback delivery when the write that left <paramref name="row"/> recorded an event its
    /// receiver should hear about. Best effort: a lost wake-up only delays the event until the delivery's last look.
    /// </summary>
    public async Task NotifyCallbacksAsync(DurableTaskClient durable, VerificationEntity row)
    {
        ArgumentNullException.ThrowIfNull(durable);
        ArgumentNullException.ThrowIfNull(row);
        if (!callbackEvents.EndsWithCallbackEvent(row))
        {
            return;
        }

        try
        {
            await durable.RaiseEventAsync(Workflows.CallbackInstanceIdFor(row.Id), Workflows.CallbacksPendingEvent, true, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCallbackWakeFailed(ex, row.Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: could not signal the orchestration ({Signal})")]
    private partial void LogSignalFailed(Exception exception, string verificationId, SignalKind signal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: could not wake its callback delivery; it delivers at its next look")]
    private partial void LogCallbackWakeFailed(Exception exception, string verificationId);
}
