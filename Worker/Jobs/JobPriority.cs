namespace Worker.Jobs;

/// <summary>A job's priority (wire field <c>priority</c>): which lane of its job type it waits in.</summary>
internal enum JobPriority
{
    High,
    Normal,
    Low,
}

/// <summary>The text form of <see cref="JobPriority"/> on the wire, on the command line and in lane keys.</summary>
internal static class JobPriorities
{
    public const string High = "high";
    public const string Normal = "normal";
    public const string Low = "low";

    /// <summary>Every priority, highest first.</summary>
    public static readonly JobPriority[] All = [JobPriority.High, JobPriority.Normal, JobPriority.Low];

    public static string ToText(JobPriority priority) => priority switch
    {
        JobPriority.High => High,
        JobPriority.Low => Low,
        _ => Normal,
    };

    public static bool TryParse(string? text, out JobPriority priority)
    {
        (var ok, priority) = text switch
        {
            High => (true, JobPriority.High),
            Normal => (true, JobPriority.Normal),
            Low => (true, JobPriority.Low),
            _ => (false, JobPriority.Normal),
        };
        return ok;
    }
}
