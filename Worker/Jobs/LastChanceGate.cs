namespace Worker.Jobs;

/// <summary>
/// An entry on its last allowed delivery runs alone in this process. A job that crashes its worker takes every job
/// running beside it down too, and those come back together on the next worker; without this gate an innocent job
/// could share the poison's fate often enough to be dead-lettered with it. Alone, an innocent job finishes, and the
/// poison crashes by itself once more and is dead-lettered. Ordinary jobs pay one uncontended lock.
/// </summary>
internal sealed class LastChanceGate
{
    private readonly Lock _lock = new();
    private readonly Queue<TaskCompletionSource> _sharedWaiters = new();
    private readonly Queue<TaskCompletionSource> _exclusiveWaiters = new();
    private int _shared;
    private bool _exclusive;

    public ValueTask<Lease> EnterAsync(bool lastChance, CancellationToken ct)
    {
        TaskCompletionSource waiter;
        lock (_lock)
        {
            if (!lastChance && !_exclusive && _exclusiveWaiters.Count == 0)
            {
                _shared++;
                return ValueTask.FromResult(new Lease(this, exclusive: false));
            }

            if (lastChance && !_exclusive && _shared == 0)
            {
                _exclusive = true;
                return ValueTask.FromResult(new Lease(this, exclusive: true));
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            (lastChance ? _exclusiveWaiters : _sharedWaiters).Enqueue(waiter);
        }

        return WaitForTurnAsync(waiter, lastChance, ct);
    }

    /// <summary>The slow path in a method of its own: the fast one allocates no closure or state machine.</summary>
    private async ValueTask<Lease> WaitForTurnAsync(TaskCompletionSource waiter, bool lastChance, CancellationToken ct)
    {
        using (ct.Register(() => waiter.TrySetCanceled(ct)))
        {
            try
            {
                await waiter.Task;
            }
            catch (OperationCanceledException)
            {
                lock (_lock)
                {
                    // Granted at the same moment as cancelled: give the grant back.
                    if (waiter.Task.IsCompletedSuccessfully)
                    {
                        Exit(lastChance);
                    }
                }

                throw;
            }
        }

        return new Lease(this, lastChance);
    }

    private void Exit(bool exclusive)
    {
        if (exclusive)
        {
            _exclusive = false;
        }
        else
        {
            _shared--;
        }

        // Exclusive waiters first once the running jobs are done; otherwise let every shared waiter in.
        if (_shared == 0 && !_exclusive)
        {
            while (_exclusiveWaiters.TryDequeue(out var next))
            {
                if (next.TrySetResult())
                {
                    _exclusive = true;
                    return;
                }
            }
        }

        if (!_exclusive && _exclusiveWaiters.Count == 0)
        {
            while (_sharedWaiters.TryDequeue(out var next))
            {
                if (next.TrySetResult())
                {
                    _shared++;
                }
            }
        }
    }

    /// <summary>A turn in the gate; disposing it once lets the next job in. A struct: ordinary jobs allocate nothing.</summary>
    public readonly struct Lease(LastChanceGate gate, bool exclusive) : IDisposable
    {
        public void Dispose()
        {
            if (gate is null)
            {
                return;
            }

            lock (gate._lock)
            {
                gate.Exit(exclusive);
            }
        }
    }
}
