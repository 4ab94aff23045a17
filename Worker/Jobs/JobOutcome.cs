using Worker.Persistence;

namespace Worker.Jobs;

/// <summary>How one delivery's execution ended; the transport (<c>Streams/EntryFate</c>) applies it to Redis.</summary>
internal enum OutcomeKind
{
    /// <summary>The handler returned: ack (after the success row, with job state).</summary>
    Succeeded,

    /// <summary>The job had already succeeded (a redelivery, a second copy): ack it unrun.</summary>
    Duplicate,

    /// <summary>Cancelled before it started or while it ran: row <c>cancelled</c>, ack, not retried.</summary>
    Cancelled,

    /// <summary>Failed with attempts left: back in the delayed set for <see cref="JobOutcome.DueAt"/>, as the next attempt.</summary>
    Retry,

    /// <summary>A delayed job read before its <c>run_at</c>: into the delayed set, no attempt counted.</summary>
    Delay,

    /// <summary>Cannot succeed: to the dead-letter stream with <see cref="JobOutcome.Reason"/>.</summary>
    DeadLetter,

    /// <summary>Not finished (the hard stop came first): left pending for a peer.</summary>
    Release,
}

/// <summary>
/// What the executor decided for one delivery. The executor writes nothing to Redis about the entry itself and
/// publishes no lifecycle event: both follow from this, in one place.
/// </summary>
/// <param name="Envelope">The job; null only for <see cref="OutcomeKind.Release"/>.</param>
/// <param name="Attempt">The attempt that ended (0 for an entry that could not be read).</param>
internal readonly record struct JobOutcome(OutcomeKind Kind, JobEnvelope? Envelope = null, int Attempt = 0)
{
    public static readonly JobOutcome Released = new(OutcomeKind.Release);

    /// <summary>Retry and delay: when the entry comes back.</summary>
    public DateTimeOffset DueAt { get; init; }

    /// <summary>Dead letter: the stable reason (<c>attempts_exhausted</c>, ...); retry: the error's type.</summary>
    public string? Reason { get; init; }

    /// <summary>Dead letter and retry: the error's message.</summary>
    public string? Message { get; init; }

    /// <summary>Retry: the failure, logged with its stack when it is not a <see cref="TransientJobException"/>.</summary>
    public Exception? Error { get; init; }

    /// <summary>Success: how long the handler ran.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Success with job state whose effects did not write its row: the row is still to be committed.</summary>
    public bool RecordsSuccess { get; init; }

    /// <summary>Success: the begin row's write, when one was made (the success row then does not count the attempt again).</summary>
    public Task<JobStart>? Begun { get; init; }

    /// <summary>Cancelled: whether it was stopped while it ran.</summary>
    public bool Running { get; init; }
}
