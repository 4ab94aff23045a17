namespace Worker.Persistence;

/// <summary>
/// Writes the begin row of each deferred execution of one job type once it has run for <c>after</c>: one timer for
/// all of them, ticking every quarter of <c>after</c> (10 ms to 1 s), over a fixed table of the executions in flight
/// (a replica runs at most its slots' worth at once). A timer per execution cost the with-state drain a fifth of its
/// CPU (their finalizers and the timer queue's lock). A row is due between <c>after</c> and <c>after</c> plus a tick.
/// </summary>
internal sealed class RunningRowClock : IDisposable
{
    private static readonly TimeSpan MinTick = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxTick = TimeSpan.FromSeconds(1);

    private readonly AttemptBegin?[] _running;
    private readonly TimeSpan _after;
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private int _hint;

    public RunningRowClock(int capacity, TimeSpan after, TimeProvider time)
    {
        (_running, _after, _time) = (new AttemptBegin?[Math.Max(1, capacity)], after, time);
        var tick = TimeSpan.FromTicks(Math.Clamp(after.Ticks / 4, MinTick.Ticks, MaxTick.Ticks));
        _timer = time.CreateTimer(static state => ((RunningRowClock)state!).Tick(), this, tick, tick);
    }

    /// <summary>
    /// A deferred begin row for an execution starting now, watched until its <see cref="AttemptBegin.Stop"/>. When the
    /// table is full (it never is with one execution a slot) the row is asked for at once instead.
    /// </summary>
    public AttemptBegin Start(JobStateBatcher batcher, string type, string id, string entryId)
    {
        var begin = AttemptBegin.Deferred(batcher, type, id, entryId, _time.GetTimestamp());
        if (Watch(begin) < 0)
        {
            _ = begin.Write();
        }

        return begin;
    }

    /// <summary>Watches <paramref name="begin"/> until <see cref="Forget"/>; -1 when the table is full.</summary>
    public int Watch(AttemptBegin begin)
    {
        var start = (int)((uint)Interlocked.Increment(ref _hint) % (uint)_running.Length);
        for (var i = 0; i < _running.Length; i++)
        {
            var at = (start + i) % _running.Length;
            if (Interlocked.CompareExchange(ref _running[at], begin, null) is null)
            {
                begin.WatchedBy(this, at);
                return at;
            }
        }

        return -1;
    }

    /// <summary>Stops watching <paramref name="begin"/> (its place, if another begin has it meanwhile, is left alone).</summary>
    public void Forget(AttemptBegin begin)
    {
        if (begin.ClockIndex >= 0)
        {
            Interlocked.CompareExchange(ref _running[begin.ClockIndex], null, begin);
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Tick()
    {
        var now = _time.GetTimestamp();
        var after = (long)(_after.TotalSeconds * _time.TimestampFrequency);
        foreach (var begin in _running)
        {
            if (begin is not null && now - begin.StartedAt >= after)
            {
                // Once asked for, the write stands; asking again returns it.
                _ = begin.Write();
            }
        }
    }
}
