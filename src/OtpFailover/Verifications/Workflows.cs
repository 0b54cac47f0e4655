using OtpFailover.Channels;

namespace OtpFailover.Verifications;

/// <summary>
/// What the use cases and the durable workflows agree on: the orchestrations' names, inputs and events. The names are
/// stored in history (and in instance ids): they never change without a new task hub, and are written out rather than
/// taken with <c>nameof</c>, so that renaming a type renames nothing stored.
/// </summary>
public static class Workflows
{
    /// <summary>The verification's workflow: its instance id is the verification id.</summary>
    public const string VerificationOrchestrator = "VerificationOrchestrator";

    /// <summary>The one external event the verification's workflow listens to (<see cref="VerificationSignal"/>).</summary>
    public const string SignalEvent = "VerificationSignal";

    /// <summary>The delivery of a verification's status callbacks.</summary>
    public const string CallbackOrchestrator = "CallbackDeliveryOrchestrator";

    /// <summary>Wakes the callback delivery: the row may have an event its receiver has not heard yet.</summary>
    public const string CallbacksPendingEvent = "CallbacksPending";

    /// <summary>How long after the code's expiry the callback delivery keeps listening: the expiry's own write lands in it.</summary>
    public static readonly TimeSpan CallbacksListenAfterExpiry = TimeSpan.FromMinutes(1);

    public static string CallbackInstanceIdFor(string verificationId) => $"{verificationId}:callbacks";
}

/// <summary>
/// The orchestration's input. It names the verification and carries its channel plan and the timings (so a test can
/// use seconds); it never carries the code or the phone number, which the activities read from the store.
/// </summary>
/// <param name="Plan">The channels in the order they are tried, each with what confirms it and how long to wait for that.</param>
/// <param name="ReconcileInterval">
/// While the workflow waits on a channel with no deadline (delivery confirmed and the user not yet verified, or a
/// channel with no confirmation wait), how often it reads the row anyway: a signal can be late after a crash (a resend
/// the user asked for must not wait minutes for it). Null: never.
/// </param>
/// <param name="Callbacks">The verification has a callback delivery to wake after each step (<see cref="Workflows.CallbackOrchestrator"/>).</param>
public sealed record VerificationWorkflowInput(
    string VerificationId,
    DateTimeOffset ExpiresAt,
    IReadOnlyList<PlannedChannel> Plan,
    TimeSpan? FailoverIfUnverifiedAfter,
    TimeSpan? ReconcileInterval = null,
    bool Callbacks = false);

public enum SignalKind
{
    /// <summary>A channel's provider reported a new delivery status for the message.</summary>
    Delivery,

    /// <summary>The caller asked for the next channel.</summary>
    ResendRequested,

    /// <summary>The verification ended (approved, canceled, max attempts); the store already says so.</summary>
    Ended,
}

/// <summary>The one external event the orchestration listens to. It carries no code and no phone number.</summary>
public sealed record VerificationSignal(SignalKind Kind, Channel? Channel = null, DeliveryStatus? Delivery = null, VerificationStatus? Status = null)
{
    public static VerificationSignal ForDelivery(Channel channel, DeliveryStatus status) => new(SignalKind.Delivery, channel, status);

    public static VerificationSignal Resend { get; } = new(SignalKind.ResendRequested);

    public static VerificationSignal EndedWith(VerificationStatus status) => new(SignalKind.Ended, Status: status);
}

/// <summary>
/// The delivery orchestration's input. <see cref="Next"/>, <see cref="FailingSince"/> and <see cref="Failures"/> carry
/// its place across <c>ContinueAsNew</c>.
/// </summary>
/// <param name="ListenUntil">
/// After this it ends, once it has delivered everything up to the verification's end: the code is dead by then.
/// </param>
/// <param name="LookAgainAfter">
/// Past <paramref name="ListenUntil"/> with the verification not ended yet (its workflow is behind, after an outage):
/// how often it reads the row again, for at most an hour. Null: a minute.
/// </param>
public sealed record CallbackDeliveryInput(
    string VerificationId,
    DateTimeOffset ListenUntil,
    TimeSpan RetryFor,
    TimeSpan FirstRetryInterval,
    TimeSpan MaximumRetryInterval,
    int Next = 0,
    DateTimeOffset? FailingSince = null,
    int Failures = 0,
    TimeSpan? LookAgainAfter = null);
