using Microsoft.Extensions.Logging;
using OtpFailover.Abuse;
using OtpFailover.Channels;
using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

/// <summary>The details a send records when it does not go out (safe to show: no code, no number).</summary>
public static class SendDetails
{
    /// <summary>The SMS was not sent: the number had its <see cref="AbuseOptions.SmsPerNumber"/> already.</summary>
    public const string SmsRateLimited = "sms_rate_limited";

    /// <summary>The SMS was not sent: its region's hourly budget is spent.</summary>
    public const string SmsBudgetExceeded = "sms_budget_exceeded";

    /// <summary>The send a limit refused: <c>{channel}_budget_exceeded</c> for a shared budget, else <c>{channel}_rate_limited</c>.</summary>
    public static string Refusal(Channel channel, LimitKind? limit) =>
        $"{WireNames.Of(channel)}_{(limit is { } kind && kind.IsSharedBudget() ? "budget_exceeded" : "rate_limited")}";

    /// <summary>On <c>{channel}.sent</c>: the provider's answer was lost, but it de-duplicates (or the channel was the last), so the code may well be out.</summary>
    public const string OutcomeUnknown = "outcome_unknown";
}

/// <summary>Records where a send stands when it does not go out, for the send's steps.</summary>
public sealed partial class SendState(VerificationStore store, ILogger<SendState> logger)
{
    /// <summary>A send-once channel's send that may have gone out: recorded as unknown, and never asked again.</summary>
    public async Task<SendActivityResult> NeverAgainAsync(string id, Channel channel)
    {
        await SetBestEffortAsync(id, channel, ChannelSendState.Unknown, null);
        return new(false, VerificationStatus.Pending, $"{WireNames.Of(channel)}_outcome_unknown", Unknown: true);
    }

    /// <summary>Records where a send stands when nothing else changes with it; best effort (the GET shows it, nothing decides by it).</summary>
    public async Task SetBestEffortAsync(string id, Channel channel, ChannelSendState state, string? detail)
    {
        try
        {
            await store.UpdateAsync(id, e =>
            {
                if (e.SendOn(channel) is not { } current || current.MessageId is not null || (current.State == state && current.Detail == detail))
                {
                    return false;
                }

                e.Put(current with { State = state, Detail = detail });
                return true;
            }, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogStateNotRecorded(ex, id, channel);
        }
    }

    /// <summary>A channel or a limit refused the code (logged with the number masked).</summary>
    public void Refused(string verificationId, Channel channel, string maskedRecipient, string? detail) =>
        LogRejected(verificationId, WireNames.Of(channel), maskedRecipient, detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: {Channel} refused the code for {Recipient}: {Detail}")]
    private partial void LogRejected(string verificationId, string channel, string recipient, string? detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: where its {Channel} send stands could not be recorded")]
    private partial void LogStateNotRecorded(Exception exception, string verificationId, Channel channel);
}
