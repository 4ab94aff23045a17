namespace Worker.Streams;

/// <summary>What the consumer does with an entry once its execution is over.</summary>
internal enum DeliveryOutcome
{
    /// <summary>Done (succeeded, or a duplicate of a succeeded job): ack it.</summary>
    Ack,

    /// <summary>Already acked atomically with its move to the dead-letter stream or the retry schedule.</summary>
    Settled,

    /// <summary>Not finished (stopping): leave it pending and hand it to a peer.</summary>
    Release,
}
