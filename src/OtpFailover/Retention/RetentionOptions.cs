using System.ComponentModel.DataAnnotations;

namespace OtpFailover.Retention;

/// <summary>The <c>Retention</c> configuration section: how long ended verifications are kept, and when they go.</summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Retention";

    /// <summary>The NCRONTAB schedule of the purge (UTC). The timer trigger reads it as <c>%Retention:Schedule%</c>.</summary>
    [Required(ErrorMessage = "Retention:Schedule is required (an NCRONTAB expression such as '0 30 3 * * *').")]
    public string Schedule { get; set; } = DefaultSchedule;

    public const string DefaultSchedule = "0 30 3 * * *";

    /// <summary>
    /// How long a verification is kept after it ended (or its code expired): its row, its message-index rows and its
    /// durable instance. At least an hour, so nothing in flight or just ended is ever purged.
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00", ErrorMessage = "Retention:KeepEndedFor must be between {1} and {2}.")]
    public TimeSpan KeepEndedFor { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How long one purge may run: it stops between rows when the time is up and the next run goes on where it
    /// stopped (what it deleted is gone). Below the Functions timeout (30 minutes by default on Flex Consumption).
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "02:00:00", ErrorMessage = "Retention:MaxRunTime must be between {1} and {2}.")]
    public TimeSpan MaxRunTime { get; set; } = TimeSpan.FromMinutes(20);
}
