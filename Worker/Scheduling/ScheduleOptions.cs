namespace Worker.Scheduling;

/// <summary>A recurring job, bound from <c>Worker:Schedules:&lt;name&gt;</c>: at each occurrence of its cron, one job.</summary>
internal sealed class ScheduleOptions
{
    /// <summary>The job type each occurrence enqueues.</summary>
    public string? Type { get; set; }

    /// <summary>Five fields (minute to day of week) or six (seconds first), as Cronos reads them.</summary>
    public string? Cron { get; set; }

    /// <summary>The JSON payload of every occurrence's job; default <c>{}</c>.</summary>
    public string? Payload { get; set; }

    /// <summary>The time zone the cron is read in (IANA or Windows id); default UTC.</summary>
    public string? TimeZone { get; set; }

    public bool Enabled { get; set; } = true;
}
