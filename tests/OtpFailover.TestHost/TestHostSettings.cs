namespace OtpFailover.TestHost;

/// <summary>The <c>TestHost</c> section: where the host listens, its task hub, backend timings, and the faults to hold.</summary>
public sealed class TestHostSettings
{
    public string TaskHub { get; set; } = "OtpFailoverTest";

    /// <summary>The HTTP functions' port on 127.0.0.1; 0 lets the OS pick (the READY line names it).</summary>
    public int HttpPort { get; set; }

    public int PartitionCount { get; set; } = 1;

    /// <summary>How long a control-queue message a dead worker took stays invisible (host.json's value unless a test says).</summary>
    public TimeSpan ControlQueueVisibilityTimeout { get; set; } = HostJsonDurableSettings.Current.ControlQueueVisibilityTimeout;

    /// <summary>How long an activity message a dead worker took stays invisible (host.json's value unless a test says).</summary>
    public TimeSpan WorkItemQueueVisibilityTimeout { get; set; } = HostJsonDurableSettings.Current.WorkItemQueueVisibilityTimeout;

    /// <summary>The partition lease: a restarted host takes the dead one's partitions once it expires.</summary>
    public TimeSpan LeaseInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>While this file exists, the backend's writes to its History table (the checkpoints) are held.</summary>
    public string? HoldCheckpointsWhile { get; set; }

    /// <summary>While this file exists, messages the backend puts on its queues (signals, timers, activities) are held.</summary>
    public string? HoldQueueMessagesWhile { get; set; }

    /// <summary>While this file exists, the app's table writes containing <see cref="HoldAppWritesContaining"/> are held.</summary>
    public string? HoldAppWritesWhile { get; set; }

    public string? HoldAppWritesContaining { get; set; }
}
