using Microsoft.DurableTask;

namespace OtpFailover.Workflow;

/// <summary>
/// A durable timer for a point in time. Disposing cancels the timer so it does not keep the instance running.
/// </summary>
/// <remarks>
/// The Azure Storage backend delays a timer message in whole seconds (the queue's visibility timeout), so a timer
/// fires up to a second early. A new timer for the rest of that second would fire at once, and again, until the
/// second is over: a storm of turns (it once cost 20 timers and 90 history events per failover). So a timer that
/// fired less than <see cref="Granularity"/> early counts as fired, and the activity that acts on it waits out the
/// rest itself (<c>NotBefore</c>); only a timer that fired a whole second or more early (clock skew) is set again.
/// </remarks>
internal sealed class Deadline : IDisposable
{
    private static readonly TimeSpan Granularity = TimeSpan.FromSeconds(1);
    private readonly TaskOrchestrationContext _context;
    private readonly DateTime _fireAt;
    private CancellationTokenSource _cancel = new();

    public Deadline(TaskOrchestrationContext context, DateTime fireAt)
    {
        _context = context;
        _fireAt = fireAt;
        Timer = context.CreateTimer(fireAt, _cancel.Token);
    }

    public Task Timer { get; private set; }

    public DateTime FireAt => _fireAt;

    /// <summary>After <see cref="Timer"/> completed: true, with a new timer armed, when it fired a second or more early.</summary>
    public bool FiredEarly()
    {
        if (_context.CurrentUtcDateTime > _fireAt - Granularity)
        {
            return false;
        }

        _cancel.Dispose();
        _cancel = new CancellationTokenSource();
        Timer = _context.CreateTimer(_fireAt, _cancel.Token);
        return true;
    }

    public void Dispose()
    {
        _cancel.Cancel();
        _cancel.Dispose();
    }
}
