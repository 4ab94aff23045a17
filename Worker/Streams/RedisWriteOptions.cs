namespace Worker.Streams;

/// <summary>
/// The <c>Worker:Redis</c> section: how far a write must have gone before it counts as done. Redis replicates
/// asynchronously, so a master that dies can take acknowledged writes with it; waiting for a replica closes that gap.
/// </summary>
internal sealed class RedisWriteOptions
{
    /// <summary>Longest wait for a replica to confirm a write: 1 second.</summary>
    public static readonly TimeSpan DefaultReplicaTimeout = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Enqueues, dead-letter moves and retry schedules wait for one replica (<c>WAIT 1</c>) when the master has one;
    /// an enqueue no replica confirms in time fails. On by default; false trades that guarantee for speed.
    /// </summary>
    public bool WaitForReplica { get; set; } = true;

    /// <summary>How long a write waits for its replica; at least 1 ms, at most 1 minute.</summary>
    public TimeSpan ReplicaTimeout { get; set; } = DefaultReplicaTimeout;
}
