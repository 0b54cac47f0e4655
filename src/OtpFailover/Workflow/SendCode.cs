using Microsoft.Extensions.Logging;
using OtpFailover.Channels;
using OtpFailover.Telemetry;
using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

/// <summary>
/// The <c>SendCode</c> activity: sends the code on a channel of the plan, the one bookkeeping for every channel,
/// reading what differs from the channel (<see cref="ICodeChannel"/>). It may run more than once for the same step, so
/// it records what it did in the row before and after talking to the provider, and a second run never messages the
/// user again. Its steps:
/// <list type="number">
/// <item><see cref="SendMove"/> records the move to the channel (after a timed-out wait, only if the row agrees) and
/// claims a <see cref="RepeatSafety.SendOnce"/> channel's send (WhatsApp) in the same write.</item>
/// <item>The guard: a run that finds the send done, refused, no longer wanted, or claimed without an outcome by a
/// provider that cannot de-duplicate, stops there (the verification moves on: one extra message at worst, never a gap).</item>
/// <item><see cref="SendAllowance"/> takes a metered channel's allowance (SMS) once, and stores a
/// <see cref="RepeatSafety.Repeatable"/> channel's repeatability pair before the first attempt: every later attempt sends
/// the same pair and the same bytes, and the provider answers it without a second message.</item>
/// <item><see cref="SendAndRecord"/> asks the provider and records the outcome.</item>
/// </list>
/// </summary>
public sealed partial class SendCode(
    CodeChannels channels,
    SendMove move,
    SendAllowance allowance,
    SendAndRecord deliver,
    SendState state,
    EndVerification end,
    TimeProvider time,
    ILogger<SendCode> logger)
{
    private static readonly SendActivityResult NotFound = new(false, VerificationStatus.Failed, "verification_not_found");

    public async Task<SendActivityResult> RunAsync(SendCodeRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await EarlyTimers.WaitUntilAsync(time, request.NotBefore, cancellationToken);
        var channel = channels.For(request.Channel);
        if (await move.RecordAsync(request, channel, cancellationToken) is not { } moved)
        {
            return NotFound;
        }

        using var span = VerificationTracing.StartStep($"otpfailover.{WireNames.Of(request.Channel)}.send", request.VerificationId, moved.Entity.TraceParent);
        if (await GuardAsync(request, channel, moved, cancellationToken) is { } stopped)
        {
            return stopped;
        }

        var (allowed, instead) = await allowance.TakeAsync(request, channel, moved.Entity, moved.Entity.SendOn(request.Channel)!, cancellationToken);
        return instead ?? await deliver.SendAsync(request, channel, allowed!, span, cancellationToken);
    }

    /// <summary>What the activity answers without asking the provider; null when the send goes ahead.</summary>
    private async Task<SendActivityResult?> GuardAsync(SendCodeRequest request, ICodeChannel channel, RecordedMove moved, CancellationToken cancellationToken)
    {
        var (entity, id, name) = (moved.Entity, request.VerificationId, WireNames.Of(request.Channel));
        if (!entity.IsPending)
        {
            return new(false, entity.StatusValue);
        }

        if (moved.PreviousConfirmed)
        {
            return new(false, VerificationStatus.Pending, $"{WireNames.Of(request.After!.Value)}_confirmed", PreviousConfirmed: true);
        }

        var send = entity.SendOn(request.Channel)!;
        if (send.MessageId is not null)
        {
            return new(true, VerificationStatus.Pending);
        }

        if (send.State == ChannelSendState.Refused)
        {
            return new(false, VerificationStatus.Pending, send.Detail ?? $"{name}_refused");
        }

        if (!moved.Changed && request is { UnlessConfirmedBy: { } confirmedBy, After: { } previousChannel }
            && confirmedBy.IsConfirmedBy(entity.SendOn(previousChannel)?.Delivery ?? DeliveryStatus.None))
        {
            // Tried before (its provider refused for now) and, since, the previous channel confirmed delivery: the user
            // has the code, and the move its timeout made is not worth a message any more.
            return new(false, VerificationStatus.Pending, $"{WireNames.Of(previousChannel)}_confirmed", PreviousConfirmed: true);
        }

        if (channel.Safety == RepeatSafety.SendOnce && (!moved.Changed || send.State == ChannelSendState.Unknown))
        {
            // An earlier run claimed the send and left no outcome: it may have sent, and this provider cannot tell a
            // repeat from a second message.
            LogOutcomeUnknown(id, name);
            return await state.NeverAgainAsync(id, request.Channel);
        }

        if (time.GetUtcNow() >= entity.ExpiresAt)
        {
            return new(false, await end.ExpireAsync(new EndVerificationRequest(id), cancellationToken));
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: an earlier {Channel} send has no recorded outcome; moving on instead of sending twice")]
    private partial void LogOutcomeUnknown(string verificationId, string channel);
}
