using System.Diagnostics;

namespace OtpFailover.Telemetry;

/// <summary>
/// One trace per verification. The start's span is its root; the row keeps that span's W3C context
/// (<c>TraceParent</c>), and every later step (an activity, a webhook, a check) opens its span under it, linked to
/// the request or invocation that did the work. So the orchestration's activities, the provider calls made inside
/// them (HTTP client spans) and the webhook that confirms delivery read as one trace, whichever process ran them.
/// Spans carry the verification id, never a code or a number.
/// </summary>
public static class VerificationTracing
{
    public const string SourceName = "otpfailover";
    public const string VerificationIdTag = "otpfailover.verification.id";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>The root span of a verification: its id is tagged once known.</summary>
    public static Activity? StartVerification() => Source.StartActivity("otpfailover.verification.start", ActivityKind.Internal);

    /// <summary>
    /// A span of <paramref name="verificationId"/>'s trace (child of <paramref name="traceParent"/>, the context its
    /// row keeps), linked to the current span. Without a stored context it is a child of the current span.
    /// </summary>
    /// <param name="startTime">When the step began, for a span opened once the row (and its context) was read.</param>
    public static Activity? StartStep(string name, string verificationId, string? traceParent, DateTimeOffset startTime = default)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var current = Activity.Current;
        var parent = traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var stored)
            ? stored
            : current?.Context ?? default;
        var links = current is not null && current.TraceId != parent.TraceId ? new[] { new ActivityLink(current.Context) } : null;
        var tags = new[] { new KeyValuePair<string, object?>(VerificationIdTag, verificationId) };
        return Source.StartActivity(name, ActivityKind.Internal, parent, tags, links, startTime);
    }
}
