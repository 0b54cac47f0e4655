using OtpFailover.Channels;
using OtpFailover.EmailAddresses;

namespace OtpFailover.Email;

/// <summary>An email carrying a one-time code.</summary>
/// <param name="OperationId">Made once per verification and stored before the first send: every attempt repeats it, and the service sends one email for it.</param>
/// <param name="FirstSent">When the first attempt was made: the lifetime the text states is counted from it, so every attempt sends the same bytes.</param>
public sealed record EmailCodeMessage(string VerificationId, EmailAddress To, string Code, string Brand, DateTimeOffset ExpiresAt, Guid OperationId, DateTimeOffset FirstSent, string? Locale = null);

/// <summary>Sends a code by email. A send repeated with the same operation id must not reach the user twice.</summary>
public interface IEmailCodeSender
{
    /// <summary>False when no email provider is configured: every send would be refused.</summary>
    bool IsConfigured => true;

    Task<ChannelSendResult> SendAsync(EmailCodeMessage message, CancellationToken cancellationToken);
}
