namespace Worker.Streams;

/// <summary>
/// One job to enqueue: its JSON payload, and optionally its own id, a W3C traceparent and the time it may start at the
/// earliest (<c>run_at</c>).
/// </summary>
internal sealed record JobRequest(string PayloadJson, string? JobId = null, string? TraceParent = null, DateTimeOffset? RunAt = null);
