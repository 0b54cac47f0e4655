using OtpFailover.Channels;
using OtpFailover.Email;
using OtpFailover.Sms;
using OtpFailover.WhatsApp;

namespace OtpFailover.DependencyInjection;

/// <summary>
/// Registered for a channel that has no provider configured: every send is refused, so a verification fails over
/// (or ends <c>failed</c>) instead of pretending a code went out.
/// </summary>
public sealed class UnconfiguredChannelSender : IWhatsAppCodeSender, ISmsCodeSender, IEmailCodeSender
{
    bool IEmailCodeSender.IsConfigured => false;

    bool ISmsCodeSender.IsConfigured => false;

    bool IWhatsAppCodeSender.IsConfigured => false;

    public Task<ChannelSendResult> SendAsync(WhatsAppCodeMessage message, CancellationToken cancellationToken) =>
        Task.FromResult(ChannelSendResult.Rejected("whatsapp_not_configured"));

    public Task<ChannelSendResult> SendAsync(SmsCodeMessage message, CancellationToken cancellationToken) =>
        Task.FromResult(ChannelSendResult.Rejected("sms_not_configured"));

    public Task<ChannelSendResult> SendAsync(EmailCodeMessage message, CancellationToken cancellationToken) =>
        Task.FromResult(ChannelSendResult.Rejected("email_not_configured"));
}
