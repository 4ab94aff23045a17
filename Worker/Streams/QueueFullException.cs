namespace Worker.Streams;

/// <summary>The stream's backlog is at its configured maximum: the producer should back off (the seeds' "queue full").</summary>
internal sealed class QueueFullException(string jobType, long backlog, long maxBacklog)
    : Exception($"queue full: job type '{jobType}' has a backlog of {backlog} (max {maxBacklog}, Worker:Jobs:{jobType}:MaxBacklog)")
{
    public long Backlog { get; } = backlog;
}
