using System.Reflection;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Layering;

/// <summary>
/// The names a running instance's history holds: a rename would strand every verification in flight (its orchestrator,
/// activity or event would no longer be found), so they are pinned here, as literals.
/// </summary>
public sealed class DurableNamesTests
{
    [Fact]
    public void TheNamesStoredInHistory_AreThoseOfEarlierReleases()
    {
        Assert.Equal(
            ["VerificationOrchestrator", "VerificationSignal", "CallbackDeliveryOrchestrator", "CallbacksPending", "DeliverCallbacks", "SendCode", "Expire", "Fail", "ReadVerification", "v1:callbacks"],
            [Workflows.VerificationOrchestrator, Workflows.SignalEvent, Workflows.CallbackOrchestrator, Workflows.CallbacksPendingEvent, CallbackDelivery.ActivityName, ActivityNames.SendCode, ActivityNames.Expire, ActivityNames.Fail, ActivityNames.ReadVerification, Workflows.CallbackInstanceIdFor("v1")]);
    }

    [Fact]
    public void TheInputsStoredInHistory_KeepTheirPropertyNames()
    {
        Assert.Equal(["VerificationId", "ExpiresAt", "Plan", "FailoverIfUnverifiedAfter", "ReconcileInterval", "Callbacks"], typeof(VerificationWorkflowInput).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name));
        Assert.Equal(["Kind", "Channel", "Delivery", "Status"], typeof(VerificationSignal).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name));
        Assert.Equal(["VerificationId", "Channel", "Reason", "Detail", "After", "UnlessConfirmedBy", "NotBefore", "Last"], typeof(SendCodeRequest).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name));
        Assert.Equal(["VerificationId", "Detail", "SettleFromRow", "NotBefore", "Channel"], typeof(EndVerificationRequest).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name));
        Assert.Equal(["VerificationId", "ListenUntil", "RetryFor", "FirstRetryInterval", "MaximumRetryInterval", "Next", "FailingSince", "Failures", "LookAgainAfter"], typeof(CallbackDeliveryInput).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name));
    }
}
