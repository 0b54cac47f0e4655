using Microsoft.DurableTask.Client;
using OtpFailover.Channels;

namespace OtpFailover.Verifications;

/// <summary>
/// What the API and the webhooks do to a verification, one use case each: <see cref="StartVerification"/>,
/// <see cref="CheckCode"/>, <see cref="ResendCode"/>, <see cref="CancelVerification"/> and
/// <see cref="ApplyDeliveryStatus"/>. This is only their front door, so that a trigger (or a test) needs one service.
/// The row in the store is the truth; the workflow is told what changed (<see cref="WorkflowSignals"/>).
/// </summary>
public sealed class VerificationService(
    StartVerification start,
    CheckCode check,
    ResendCode resend,
    CancelVerification cancel,
    ApplyDeliveryStatus delivery,
    GetVerification get)
{
    // NoChannelDelivered and IsAdvance stay here for the tests written against this front door.

    /// <inheritdoc cref="DeliveryRules.NoChannelDelivered"/>
    public const string NoChannelDelivered = DeliveryRules.NoChannelDelivered;

    public Task<StartResult> StartAsync(StartRequest request, DurableTaskClient durable, CancellationToken cancellationToken) =>
        start.RunAsync(request, durable, cancellationToken);

    public Task<Verification?> GetAsync(string id, CancellationToken cancellationToken) => get.RunAsync(id, cancellationToken);

    public Task<CheckResult> CheckAsync(string id, string code, DurableTaskClient durable, CancellationToken cancellationToken) =>
        check.RunAsync(id, code, durable, cancellationToken);

    public Task<ChangeResult> ResendAsync(string id, DurableTaskClient durable, CancellationToken cancellationToken) =>
        resend.RunAsync(id, durable, cancellationToken);

    public Task<ChangeResult> CancelAsync(string id, DurableTaskClient durable, CancellationToken cancellationToken) =>
        cancel.RunAsync(id, durable, cancellationToken);

    public Task<StatusUpdateOutcome> ApplyDeliveryAsync(string id, Channel channel, DeliveryStatus status, DateTimeOffset at, string? detail, DurableTaskClient durable, CancellationToken cancellationToken) =>
        delivery.RunAsync(id, channel, status, at, detail, durable, cancellationToken);

    /// <inheritdoc cref="DeliveryRules.IsAdvance"/>
    internal static bool IsAdvance(DeliveryStatus current, DeliveryStatus next) => DeliveryRules.IsAdvance(current, next);
}
