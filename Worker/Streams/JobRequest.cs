namespace Worker.Streams;

/// <summary>
/// One job to enqueue: its JSON payload, and optionally its own id, a W3C traceparent and the time it may start at the
/// earliest (<c>run_at</c>).
/// </summary>
internal sealed record JobRequest(string PayloadJson, string? JobId = null, string? TraceParent = null, DateTimeOffset? RunAt = null)
{
    /// <summary>The lane the job waits in (<c>priority</c>); other than normal only for a job type with <c>Priorities</c>.</summary>
    public Jobs.JobPriority Priority { get; init; } = Jobs.JobPriority.Normal;
}
