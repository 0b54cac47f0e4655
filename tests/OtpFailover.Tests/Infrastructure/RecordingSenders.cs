using System.Collections.Concurrent;
using OtpFailover.Channels;
using OtpFailover.Sms;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;

namespace OtpFailover.Tests.Infrastructure;

/// <summary>Stands in for a channel's provider: keeps what it was asked to send and answers as the test says.</summary>
public abstract class RecordingSender<TMessage>
{
    private readonly ConcurrentQueue<TMessage> _messages = new();

    /// <summary>How the provider answers the n-th call (0-based). Throwing stands for a lost response.</summary>
    public Func<TMessage, int, ChannelSendResult> Respond { get; set; } = (_, _) => ChannelSendResult.Accepted($"msg-{Guid.NewGuid():N}");

    public IReadOnlyList<TMessage> Messages => [.. _messages];

    /// <summary>What the provider answered, in order: the message ids it gave are here, as the row keeps only their keyed hash.</summary>
    public IReadOnlyList<ChannelSendResult> Answers => [.. _answers];

    private readonly ConcurrentQueue<ChannelSendResult> _answers = new();

    public int Calls => _messages.Count;

    private TaskCompletionSource? _hold;

    /// <summary>Makes sends wait (after they are recorded) until <see cref="Release"/>: a provider that is slow to answer.</summary>
    public void Hold() => _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _hold?.TrySetResult();

    protected async Task<ChannelSendResult> RecordAsync(TMessage message)
    {
        _messages.Enqueue(message);
        var index = _messages.Count - 1;
        if (_hold is { } hold)
        {
            await hold.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }

        var answer = Respond(message, index);
        _answers.Enqueue(answer);
        return answer;
    }

    public async Task<TMessage> WaitForMessageAsync(int count = 1, TimeSpan? timeout = null)
    {
        await Eventually.WaitUntilAsync(() => _messages.Count >= count, timeout ?? TimeSpan.FromSeconds(20), $"{GetType().Name} to receive {count} message(s)");
        return Messages[count - 1];
    }
}

public sealed class RecordingWhatsAppSender : RecordingSender<WhatsAppCodeMessage>, IWhatsAppCodeSender
{
    /// <summary>Answers with an id minted as Meta mints them: the recipient's digits inside.</summary>
    public RecordingWhatsAppSender() => Respond = (message, _) => ChannelSendResult.Accepted(OtpFailover.Simulator.WhatsAppMessageIds.Mint(message.To.E164));

    public Task<ChannelSendResult> SendAsync(WhatsAppCodeMessage message, CancellationToken cancellationToken) => RecordAsync(message);
}

public sealed class RecordingSmsSender : RecordingSender<SmsCodeMessage>, ISmsCodeSender
{
    public Task<ChannelSendResult> SendAsync(SmsCodeMessage message, CancellationToken cancellationToken) => RecordAsync(message);
}

public sealed class RecordingEmailSender : RecordingSender<OtpFailover.Email.EmailCodeMessage>, OtpFailover.Email.IEmailCodeSender
{
    /// <summary>As ACS does: the operation id (the verification's, repeated on every attempt) names the email.</summary>
    public RecordingEmailSender() => Respond = (message, _) => ChannelSendResult.Accepted(message.OperationId.ToString());

    public Task<ChannelSendResult> SendAsync(OtpFailover.Email.EmailCodeMessage message, CancellationToken cancellationToken) => RecordAsync(message);
}

public static class Eventually
{
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}.");
            }

            await Task.Delay(50);
        }
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}.");
            }

            await Task.Delay(50);
        }
    }
}
