using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

/// <summary>What a wait of the workflow came to.</summary>
internal enum StepKind
{
    Confirmed,
    DeadlinePassed,
    MoveOn,
    Ended,
}

/// <param name="NotBefore">For a move a timer decided: its deadline, which the send activity waits for.</param>
internal sealed record Step(StepKind Kind, FailoverReason? Reason = null, string? Detail = null, VerificationStatus? Ended = null, DateTime? NotBefore = null)
{
    public static readonly Step Confirmed = new(StepKind.Confirmed);
    public static readonly Step DeadlinePassed = new(StepKind.DeadlinePassed);

    public static Step MoveOn(FailoverReason reason, string? detail = null) => new(StepKind.MoveOn, reason, detail);

    public static Step EndedWith(VerificationStatus status) => new(StepKind.Ended, Ended: status);
}
