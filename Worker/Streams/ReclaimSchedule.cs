namespace Worker.Streams;

/// <summary>
/// When the read loop looks for entries abandoned by dead consumers. The look comes before the next read and takes the
/// read's credits first, so reclaimed work (the oldest in the group) starts ahead of new entries. A look that filled its
/// credits is followed by another before the next read (more may be waiting); otherwise the next is due a claim
/// interval later, and a parked read ends by then.
/// </summary>
internal sealed class ReclaimSchedule(TimeSpan interval, TimeProvider time)
{
    private DateTimeOffset _next = time.GetUtcNow();

    public bool IsDue => time.GetUtcNow() >= _next;

    /// <summary>Records a look that asked for <paramref name="asked"/> entries and got <paramref name="claimed"/>.</summary>
    public void Looked(int asked, int claimed) =>
        _next = claimed >= asked ? time.GetUtcNow() : time.GetUtcNow() + interval;

    /// <summary>A look that failed: try again a claim interval later.</summary>
    public void Failed() => _next = time.GetUtcNow() + interval;

    /// <summary>How long the next read may block: <paramref name="blockTime"/>, but no later than the next look is due.</summary>
    public TimeSpan BlockFor(TimeSpan blockTime)
    {
        var untilDue = _next - time.GetUtcNow();
        // A zero block would be a non-blocking read: block at least a millisecond when the look is due now.
        return untilDue < blockTime ? (untilDue > TimeSpan.FromMilliseconds(1) ? untilDue : TimeSpan.FromMilliseconds(1)) : blockTime;
    }
}
