namespace Worker.Persistence;

/// <summary>The text form of <see cref="JobStatus"/> that SQL users read and the raw SQL of the store writes.</summary>
internal static class JobStatusText
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string DeadLettered = "dead_lettered";
    public const string Cancelled = "cancelled";

    public static string ToText(JobStatus status) => status switch
    {
        JobStatus.Queued => Queued,
        JobStatus.Running => Running,
        JobStatus.Succeeded => Succeeded,
        JobStatus.Failed => Failed,
        JobStatus.DeadLettered => DeadLettered,
        JobStatus.Cancelled => Cancelled,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    public static JobStatus Parse(string text) => text switch
    {
        Queued => JobStatus.Queued,
        Running => JobStatus.Running,
        Succeeded => JobStatus.Succeeded,
        Failed => JobStatus.Failed,
        DeadLettered => JobStatus.DeadLettered,
        Cancelled => JobStatus.Cancelled,
        _ => throw new FormatException($"unknown job status '{text}'"),
    };
}
