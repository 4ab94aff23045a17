namespace Worker.Persistence;

/// <summary>Stored as lowercase text (<c>queued</c>, <c>running</c>, <c>succeeded</c>, <c>failed</c>, <c>dead_lettered</c>, <c>cancelled</c>).</summary>
internal enum JobStatus
{
    /// <summary>Waiting: enqueued, or a retry waiting in the delayed schedule.</summary>
    Queued,
    Running,
    Succeeded,
    /// <summary>The last attempt failed transiently and another is scheduled.</summary>
    Failed,
    DeadLettered,
    /// <summary>Cancelled before it started or while it ran: final, like <see cref="Succeeded"/>.</summary>
    Cancelled,
}
