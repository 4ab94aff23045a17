namespace Worker.Events;

/// <summary>
/// A lifecycle event: <c>job.succeeded</c>, <c>job.failed</c> (a retry is scheduled), <c>job.dead_lettered</c> or
/// <c>job.cancelled</c> (met before it started, or stopped while it ran).
/// </summary>
internal sealed record JobEvent(string Type, JobEventData Data)
{
    public const string Succeeded = "job.succeeded";
    public const string Failed = "job.failed";
    public const string DeadLettered = "job.dead_lettered";
    public const string Cancelled = "job.cancelled";
}
