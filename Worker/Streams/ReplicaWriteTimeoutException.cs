namespace Worker.Streams;

/// <summary>
/// A write reached the master but no replica confirmed it within <c>Worker:Redis:ReplicaTimeout</c>: a failover now
/// could lose it. Writing it again with the same job id is safe (the job runs once).
/// </summary>
internal sealed class ReplicaWriteTimeoutException(string key, TimeSpan timeout)
    : Exception($"no replica confirmed the write to {key} within {timeout.TotalMilliseconds:0} ms: a failover now could lose it")
{
    public string Key { get; } = key;
}
