using Worker.Jobs;

namespace Worker.Streams;

/// <summary>
/// The permits the consumers of one job type take before a job starts, when the type has several streams (partitions,
/// priority lanes): its <c>Concurrency</c>, shared. A permit that comes back goes to a waiting job of the highest lane
/// (high, then normal, then low), oldest first within a lane, except that a lane passed over
/// <see cref="MaxPassedOver"/> times in a row while it waited takes the next one: a steady stream of high jobs slows
/// the others down to one start in <see cref="MaxPassedOver"/> + 1, and never stops them.
/// </summary>
internal sealed class PrioritySlots
{
    /// <summary>Starts a waiting lane lets others take before its own turn comes: 10.</summary>
    public const int MaxPassedOver = 10;

    private readonly Lock _lock = new();
    private readonly Queue<TaskCompletionSource<bool>>[] _waiting = [new(), new(), new()];
    private readonly int[] _passedOver = new int[3];
    private int _available;

    public PrioritySlots(int permits) => _available = permits;

    /// <summary>Free permits (for tests and readiness).</summary>
    public int Available
    {
        get
        {
            lock (_lock)
            {
                return _available;
            }
        }
    }

    /// <summary>Takes a permit for a job of <paramref name="lane"/>; false when <paramref name="cancellationToken"/> fires first.</summary>
    public ValueTask<bool> TakeAsync(JobPriority lane, CancellationToken cancellationToken)
    {
        TaskCompletionSource<bool> waiter;
        lock (_lock)
        {
            if (_available > 0)
            {
                _available--;
                return ValueTask.FromResult(true);
            }

            waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting[(int)lane].Enqueue(waiter);
        }

        return WaitAsync(waiter, cancellationToken);
    }

    private static async ValueTask<bool> WaitAsync(TaskCompletionSource<bool> waiter, CancellationToken cancellationToken)
    {
        // A cancelled waiter stays queued and is skipped when its turn comes (TrySetResult fails on it).
        await using var registration = cancellationToken.UnsafeRegister(static s => ((TaskCompletionSource<bool>)s!).TrySetResult(false), waiter);
        return await waiter.Task;
    }

    /// <summary>Gives a permit back: to the waiter whose turn it is, or to the pool.</summary>
    public void Release()
    {
        lock (_lock)
        {
            while (NextLane() is { } lane)
            {
                if (_waiting[lane].Dequeue().TrySetResult(true))
                {
                    Passed(lane);
                    return;
                }
            }

            _available++;
        }
    }

    /// <summary>The lane whose waiter gets the permit: one passed over too often, else the highest with a waiter.</summary>
    private int? NextLane()
    {
        int? highest = null;
        for (var lane = 0; lane < _waiting.Length; lane++)
        {
            if (_waiting[lane].Count == 0)
            {
                continue;
            }

            if (_passedOver[lane] >= MaxPassedOver)
            {
                return lane;
            }

            highest ??= lane;
        }

        return highest;
    }

    /// <summary>Counts a turn against every other lane that waits; the lane served starts afresh.</summary>
    private void Passed(int served)
    {
        _passedOver[served] = 0;
        for (var lane = 0; lane < _waiting.Length; lane++)
        {
            if (lane != served && _waiting[lane].Count > 0)
            {
                _passedOver[lane]++;
            }
        }
    }
}
