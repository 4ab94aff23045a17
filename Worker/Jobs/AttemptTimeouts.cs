using System.Collections.Concurrent;

namespace Worker.Jobs;

/// <summary>
/// Handler timeouts without a timer per job. Each execution rents a cancellation source and stamps a deadline on
/// it; one timer per consumer scans the sources in use every <see cref="Resolution"/> and cancels the late ones.
/// A job that ends in time costs two writes, and its source goes back to the pool uncancelled. A timeout fires
/// between <c>HandlerTimeout</c> and <c>HandlerTimeout</c> plus one resolution step. The hard stop cancels every
/// source at once.
/// </summary>
internal sealed class AttemptTimeouts
{
    /// <summary>
    /// Coarsest scan step: 1 s (a tenth of the timeout when that is shorter, 1 ms at the least). A handler timeout is
    /// tens of seconds, and the scan is a wake-up of the timer thread and a pool thread even when nothing runs.
    /// </summary>
    private static readonly TimeSpan MaxResolution = TimeSpan.FromSeconds(1);

    private const long Idle = 0;
    private const long Expired = -1;

    private readonly TimeProvider _time;
    private readonly CancellationToken _hardStop;
    private readonly ConcurrentBag<Lease> _pool = [];
    private readonly Lock _lock = new();
    private readonly List<Lease> _all = [];
    private readonly ITimer _scan;
    private Lease[] _snapshot = [];

    public AttemptTimeouts(TimeProvider time, TimeSpan timeout, CancellationToken hardStop)
    {
        (_time, _hardStop) = (time, hardStop);
        Resolution = TimeSpan.FromTicks(Math.Clamp(timeout.Ticks / 10, TimeSpan.TicksPerMillisecond, MaxResolution.Ticks));
        _scan = time.CreateTimer(static s => ((AttemptTimeouts)s!).Scan(), this, Resolution, Resolution);
        hardStop.UnsafeRegister(static s => ((AttemptTimeouts)s!)._scan.Dispose(), this);
    }

    public TimeSpan Resolution { get; }

    public CancellationToken HardStop => _hardStop;

    /// <summary>
    /// A source that is cancelled once <paramref name="timeout"/> has passed, when the hard stop fires, or when job
    /// <paramref name="jobId"/> is cancelled (<see cref="Cancel"/>).
    /// </summary>
    public Lease Rent(TimeSpan timeout, string jobId)
    {
        if (!_pool.TryTake(out var lease))
        {
            lease = new Lease(this);
            lock (_lock)
            {
                _all.Add(lease);
                _snapshot = [.. _all];
            }
        }

        var ticks = (long)(timeout.Ticks * (_time.TimestampFrequency / (double)TimeSpan.TicksPerSecond));
        lease.JobId = jobId;
        Volatile.Write(ref lease.Deadline, Math.Max(1, _time.GetTimestamp() + ticks));
        return lease;
    }

    /// <summary>Cancels the execution of <paramref name="jobId"/> running under one of these sources, if any; true when one was.</summary>
    public bool Cancel(string jobId)
    {
        var found = false;
        foreach (var lease in Volatile.Read(ref _snapshot))
        {
            var deadline = Volatile.Read(ref lease.Deadline);
            if (deadline > Idle && lease.JobId == jobId && Interlocked.CompareExchange(ref lease.Deadline, Expired, deadline) == deadline)
            {
                lease.CancelRequested = true;
                lease.Source.Cancel();
                found = true;
            }
        }

        return found;
    }

    private void Return(Lease lease)
    {
        // Scan and return race on the deadline: whichever swaps it first decides whether the source was cancelled.
        if (Interlocked.Exchange(ref lease.Deadline, Idle) != Expired && !lease.Source.IsCancellationRequested)
        {
            _pool.Add(lease);
            return;
        }

        lock (_lock)
        {
            _all.Remove(lease);
            _snapshot = [.. _all];
        }

        lease.Dispose();
    }

    private void Scan()
    {
        var now = _time.GetTimestamp();
        foreach (var lease in Volatile.Read(ref _snapshot))
        {
            var deadline = Volatile.Read(ref lease.Deadline);
            if (deadline > Idle && now >= deadline && Interlocked.CompareExchange(ref lease.Deadline, Expired, deadline) == deadline)
            {
                lease.Source.Cancel();
            }
        }
    }

    internal sealed class Lease
    {
        private readonly AttemptTimeouts _owner;
        private readonly CancellationTokenRegistration _hardStop;

        /// <summary>Timestamp after which the scan cancels; <see cref="Idle"/> when not rented, <see cref="Expired"/> once cancelled.</summary>
        internal long Deadline;

        /// <summary>The job the lease is rented for (written before the deadline that publishes it).</summary>
        internal string? JobId;

        /// <summary>Set before the source is cancelled because the job was cancelled.</summary>
        internal volatile bool CancelRequested;

        public Lease(AttemptTimeouts owner)
        {
            _owner = owner;
            _hardStop = owner._hardStop.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), Source);
        }

        public CancellationTokenSource Source { get; } = new();

        public CancellationToken Token => Source.Token;

        /// <summary>True when the timeout fired rather than the hard stop or a cancel of the job.</summary>
        public bool TimedOut => Source.IsCancellationRequested && !_owner._hardStop.IsCancellationRequested && !CancelRequested;

        /// <summary>True when the job was cancelled (and the hard stop has not fired).</summary>
        public bool Cancelled => CancelRequested && !_owner._hardStop.IsCancellationRequested;

        public void Release() => _owner.Return(this);

        // The source itself is left to the collector: the scan may still be cancelling it. It holds no timer.
        public void Dispose() => _hardStop.Dispose();
    }
}
