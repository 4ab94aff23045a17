namespace Worker.Persistence;

/// <summary>
/// The begin row of one execution (an attempt counted, <c>running</c>), written at most once: already before the
/// handler started, or deferred until the handler has run for a while (<see cref="RunningRowClock"/>), until something
/// needs the row (progress, a failure, a retry), or never, when the job succeeds first and its success row counts the
/// attempt instead.
/// </summary>
internal sealed class AttemptBegin
{
    private readonly JobStateBatcher _batcher;
    private readonly string _type;
    private readonly string _id;
    private readonly string _entryId;
    private RunningRowClock? _clock;
    private Task<JobStart>? _write;
    private bool _stopped;

    private AttemptBegin(JobStateBatcher batcher, string type, string id, string entryId) =>
        (_batcher, _type, _id, _entryId) = (batcher, type, id, entryId);

    /// <summary>When the execution started (a <see cref="TimeProvider"/> timestamp), for a deferred one.</summary>
    public long StartedAt { get; private init; }

    /// <summary>Its place in the <see cref="RunningRowClock"/> that watches it; -1 when none does.</summary>
    public int ClockIndex { get; private set; } = -1;

    /// <summary>A begin the caller wrote and awaited before the handler started.</summary>
    public static AttemptBegin Written(JobStateBatcher batcher, string type, string id, string entryId) =>
        new(batcher, type, id, entryId) { _write = Task.FromResult(JobStart.Started) };

    /// <summary>Set by the clock that watches this begin, so that <see cref="Stop"/> lets go of it there.</summary>
    public void WatchedBy(RunningRowClock clock, int index) => (_clock, ClockIndex) = (clock, index);

    /// <summary>A begin written when <see cref="Write"/> is first called (the clock, or a write that needs the row), unless <see cref="Stop"/> comes first.</summary>
    public static AttemptBegin Deferred(JobStateBatcher batcher, string type, string id, string entryId, long startedAt) =>
        new(batcher, type, id, entryId) { StartedAt = startedAt };

    /// <summary>Writes the row now if it is not written yet; for writes that need it (progress, failure, the next attempt).</summary>
    public Task EnsureAsync(CancellationToken ct) => (Write() ?? Task.CompletedTask).WaitAsync(ct);

    /// <summary>
    /// Ends the execution's wait: no begin is written after this. Returns the begin write if one was made (the success
    /// row must follow it, and must not count the attempt again), or null (the success row counts the attempt).
    /// </summary>
    public Task<JobStart>? Stop()
    {
        _clock?.Forget(this);
        lock (this)
        {
            _stopped = true;
            return _write;
        }
    }

    /// <summary>The row's write, asked for once; null after <see cref="Stop"/> when none was asked for before it.</summary>
    public Task<JobStart>? Write()
    {
        lock (this)
        {
            if (_stopped && _write is null)
            {
                return null;
            }

            // Not the caller's token: the row is written either way, and a success after it waits for it.
            return _write ??= _batcher.BeginAttemptAsync(_type, _id, _entryId, CancellationToken.None);
        }
    }
}
