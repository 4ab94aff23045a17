namespace Worker.Jobs;

/// <summary>Field names of a job entry (the wire format in the README) and of a dead letter.</summary>
internal static class StreamFields
{
    public const string Type = "type";
    public const string Payload = "payload";
    public const string JobId = "job_id";
    public const string EnqueuedAt = "enqueued_at";
    public const string TraceParent = "traceparent";

    /// <summary>Unix milliseconds before which the job must not start (a delayed job); optional.</summary>
    public const string RunAt = "run_at";

    /// <summary><c>high</c>, <c>normal</c> or <c>low</c>: the lane a producer put the job in; optional (normal).</summary>
    public const string Priority = "priority";

    /// <summary>Set by the worker on a scheduled retry: the number of the attempt the entry carries.</summary>
    public const string Attempt = "attempt";

    public const string ErrorType = "error_type";
    public const string ErrorMessage = "error_message";
    public const string Attempts = "attempts";
    public const string FailedAt = "failed_at";
    public const string Consumer = "consumer";
    public const string OriginalId = "original_id";
}
