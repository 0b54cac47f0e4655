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

    /// <summary>
    /// The root of a verification's trace, linked to (not a child of) the request that started it: a caller's
    /// <c>traceparent</c> neither chooses the trace id nor whether the verification is sampled, and two starts under one
    /// caller's trace are two traces. <see cref="VerificationRoot.TraceParent"/> is what the row keeps; when the span is
    /// not sampled (or nothing listens) it is a context of its own, unsampled, so every later step is left out too
    /// instead of turning up as a fragment of another trace.
    /// </summary>
    public static VerificationRoot StartVerification(string verificationId) => new(verificationId);

    public sealed class VerificationRoot : IDisposable
    {
        private readonly Activity? _previous = Activity.Current;

        internal VerificationRoot(string verificationId)
        {
            var links = _previous is null ? null : new[] { new ActivityLink(_previous.Context) };
            Activity.Current = null; // a root: without this the current span would be its parent
            Span = Source.StartActivity("otpfailover.verification.start", ActivityKind.Internal, default(ActivityContext), [new(VerificationIdTag, verificationId)], links);
            TraceParent = Span?.Id ?? $"00-{ActivityTraceId.CreateRandom().ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-00";
            if (Span is null)
            {
                Activity.Current = _previous;
            }
        }

        public Activity? Span { get; }

        /// <summary>The W3C context the verification's row keeps.</summary>
        public string TraceParent { get; }

        public void Dispose()
        {
            Span?.Dispose();
            Activity.Current = _previous;
        }
    }

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
