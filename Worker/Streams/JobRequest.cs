namespace Worker.Streams;

/// <summary>One job to enqueue: its JSON payload, and optionally its own id and a W3C traceparent.</summary>
internal sealed record JobRequest(string PayloadJson, string? JobId = null, string? TraceParent = null);
