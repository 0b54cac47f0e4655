using OtpFailover.Channels;
using OtpFailover.PhoneNumbers;
using OtpFailover.Verifications;

namespace OtpFailover.Sms;

/// <summary>An SMS carrying a one-time code.</summary>
/// <param name="RepeatabilityRequestId">Made once per verification and stored before the first send; a retried send repeats it.</param>
/// <param name="RepeatabilityFirstSent">When the first send with that id was attempted.</param>
/// <param name="Locale">The verification's language: the text's (see <see cref="SmsText"/>).</param>
public sealed record SmsCodeMessage(
    string VerificationId,
    PhoneNumber To,
    string Code,
    string Brand,
    DateTimeOffset ExpiresAt,
    Guid RepeatabilityRequestId,
    DateTimeOffset RepeatabilityFirstSent,
    string? Locale = null);

/// <summary>
/// Sends a code by SMS. A send repeated with the same repeatability pair must not reach the user twice.
/// Transient errors are the sender's to retry; what it returns is final.
/// </summary>
public interface ISmsCodeSender
{
    /// <summary>False when no SMS provider is configured: every send would be refused.</summary>
    bool IsConfigured => true;

    Task<ChannelSendResult> SendAsync(SmsCodeMessage message, CancellationToken cancellationToken);
}
