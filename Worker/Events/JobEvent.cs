namespace Worker.Events;

/// <summary>A lifecycle event: <c>job.succeeded</c>, <c>job.failed</c> (a retry is scheduled) or <c>job.dead_lettered</c>.</summary>
internal sealed record JobEvent(string Type, JobEventData Data)
{
    public const string Succeeded = "job.succeeded";
    public const string Failed = "job.failed";
    public const string DeadLettered = "job.dead_lettered";
}
