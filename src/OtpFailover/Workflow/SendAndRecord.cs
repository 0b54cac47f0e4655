using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OtpFailover.Channels;
using OtpFailover.Codes;
using OtpFailover.EmailAddresses;
using OtpFailover.PhoneNumbers;
using OtpFailover.Verifications;

namespace OtpFailover.Workflow;

/// <summary>
/// The send's last step: asks the channel's provider, once (with the client's own retries), and records the outcome.
/// Accepted, or perhaps sent by a provider that de-duplicates repeats: recorded as sent, under the keyed hash of the
/// provider's message id. Refused: the allowance goes back. Perhaps sent by a provider that cannot de-duplicate: never
/// asked again.
/// </summary>
public sealed partial class SendAndRecord(
    VerificationStore store,
    CodeGenerator codes,
    PhoneNumberProtector phoneNumbers,
    EmailAddressProtector emailAddresses,
    ProviderMessageKeys messageKeys,
    SendAllowance allowance,
    SendState state,
    TimeProvider time,
    ILogger<SendAndRecord> logger)
{
    public async Task<SendActivityResult> SendAsync(SendCodeRequest request, ICodeChannel channel, AllowedSend allowed, Activity? span, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(allowed);
        var (entity, send, freshPair) = (allowed.Entity, allowed.Send, allowed.FreshPair);
        var id = request.VerificationId;
        var name = WireNames.Of(request.Channel);
        var to = phoneNumbers.Decrypt(entity.PhoneCiphertext, id);
        var email = channel.Recipient == RecipientKind.EmailAddress ? emailAddresses.Decrypt(entity.EmailCiphertext!, id) : null;
        var masked = entity.MaskedRecipient(channel.Recipient);
        var pair = send is { RepeatabilityRequestId: { } requestId, RepeatabilityFirstSent: { } first } ? new Repeatability(requestId, first) : null;
        var knownMessageId = pair is null ? null : channel.MessageIdFor(pair);
        if (knownMessageId is not null)
        {
            // Before the send: a report must find the verification even when every answer of the provider is lost.
            await IndexBestEffortAsync(request.Channel, messageKeys.Of(knownMessageId), id);
        }

        var result = await channel.SendAsync(new CodeDelivery(id, to, codes.Derive(id, entity.CodeLength), entity.ExpiresAt, entity.Locale, pair, email), cancellationToken);
        span?.SetTag("otpfailover.send.outcome", WireNames.Of(result.Outcome));
        if (result.Outcome == SendOutcome.Rejected && channel.Safety == RepeatSafety.Repeatable && !freshPair && !result.RefusesRequest)
        {
            // This attempt sent nothing, but an earlier run may have sent with the same pair (its answer was lost
            // with it): as good as sent, and its allowance stays spent.
            result = ChannelSendResult.Unknown(result.Detail ?? $"{name}_outcome_unknown");
        }

        if (result.Outcome == SendOutcome.Rejected)
        {
            state.Refused(id, request.Channel, masked, result.Detail);
            // Only the plan's last channel waits for a provider that refuses for now; any other moves on at once.
            var tryAgainAfter = request.Last ? result.TryAgainAfter : null;
            await allowance.GiveBackAsync(entity, channel, result with { TryAgainAfter = tryAgainAfter });
            return new(false, VerificationStatus.Pending, result.Detail ?? $"{name}_rejected", TryAgainAfter: tryAgainAfter);
        }

        if (result.Outcome == SendOutcome.Unknown && channel.Safety == RepeatSafety.SendOnce)
        {
            // Perhaps sent: never asked again (the provider cannot de-duplicate); the next channel follows.
            state.Refused(id, request.Channel, masked, result.Detail);
            return await state.NeverAgainAsync(id, request.Channel);
        }

        // Accepted, or perhaps sent by a provider that de-duplicates repeats ("unknown" is as good as sent: the user
        // may have the code, and the verification must not end failed for a message that may be on its way).
        var sentAt = time.GetUtcNow();
        var unknown = result.Outcome == SendOutcome.Unknown;
        if (unknown)
        {
            LogSendOutcomeUnknown(id, name, result.Detail);
        }

        var providerMessageId = string.IsNullOrEmpty(result.ProviderMessageId) ? knownMessageId : result.ProviderMessageId;
        var messageKey = string.IsNullOrEmpty(providerMessageId) ? string.Empty : messageKeys.Of(providerMessageId);
        await store.UpdateAsync(entity, e =>
        {
            if (e.SendOn(request.Channel) is not { } current || current.MessageId is not null)
            {
                return false;
            }

            e.Put(current with
            {
                State = ChannelSendState.Sent,
                MessageId = messageKey,
                SentAt = sentAt,
                Delivery = current.Delivery == DeliveryStatus.None ? DeliveryStatus.Sent : current.Delivery,
                Detail = null,
            });
            var sentEvent = TimelineEventTypes.Of(request.Channel, DeliveryStatus.Sent);
            if (!e.HasEvent(sentEvent))
            {
                e.Append(new TimelineEvent(sentEvent, sentAt, Detail: unknown ? SendDetails.OutcomeUnknown : null));
            }

            return true;
        }, cancellationToken);
        if (providerMessageId != knownMessageId)
        {
            await IndexBestEffortAsync(request.Channel, messageKey, id); // a known id was indexed before the send
        }
        LogSent(id, name, masked);
        return new(true, VerificationStatus.Pending);
    }

    /// <summary>
    /// Remembers which verification a provider's message belongs to (by its id's keyed hash), after the row has it.
    /// Best effort: status webhooks carry the verification id themselves, and the index is only their fallback.
    /// </summary>
    private async Task IndexBestEffortAsync(Channel channel, string messageKey, string verificationId)
    {
        if (messageKey.Length == 0)
        {
            return;
        }

        try
        {
            await store.IndexProviderMessageAsync(channel, messageKey, verificationId, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogIndexFailed(ex, verificationId, channel);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Verification {VerificationId}: code sent by {Channel} to {Recipient}")]
    private partial void LogSent(string verificationId, string channel, string recipient);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: the {Channel} send's outcome is unknown ({Detail}); counting it as sent, since the provider de-duplicates repeats")]
    private partial void LogSendOutcomeUnknown(string verificationId, string channel, string? detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification {VerificationId}: its {Channel} message id could not be indexed; status reports still find it by the verification id they carry")]
    private partial void LogIndexFailed(Exception exception, string verificationId, Channel channel);
}
