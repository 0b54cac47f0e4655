using OtpFailover.Channels;
using OtpFailover.PhoneNumbers;
using OtpFailover.Verifications;

namespace OtpFailover.WhatsApp;

/// <summary>A WhatsApp authentication-template message carrying a one-time code.</summary>
/// <param name="VerificationId">Echoed back by WhatsApp's status webhooks (<c>biz_opaque_callback_data</c>).</param>
/// <param name="ExpiresAt">The code's expiry: a provider should stop trying to deliver after it.</param>
/// <param name="Locale">The verification's language: the template language is chosen by it (<c>WhatsApp:TemplateLanguages</c>).</param>
public sealed record WhatsAppCodeMessage(string VerificationId, PhoneNumber To, string Code, DateTimeOffset ExpiresAt, string? Locale = null);

/// <summary>
/// Sends a code over WhatsApp. Transient provider errors are the sender's to retry within its own budget; what it
/// returns is final for this channel. It must not throw for a provider's refusal.
/// </summary>
public interface IWhatsAppCodeSender
{
    /// <summary>False when no WhatsApp provider is configured: every send would be refused.</summary>
    bool IsConfigured => true;

    Task<ChannelSendResult> SendAsync(WhatsAppCodeMessage message, CancellationToken cancellationToken);
}
