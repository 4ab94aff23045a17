namespace Worker.Streams;

/// <summary>
/// Counts the entries a consumer may hold (running plus waiting for a slot). The reader takes credits in batches
/// and each finished job gives one back, so a replica never holds more than it can start soon.
/// </summary>
internal sealed class CreditGate(int capacity)
{
    private readonly Lock _lock = new();
    private readonly int _capacity = capacity;
    private int _available = capacity;
    private TaskCompletionSource? _waiter;

    public int Capacity => _capacity;

    /// <summary>
    /// Waits until at least <paramref name="min"/> credits are free beyond <paramref name="reserve"/>, then takes up to
    /// <paramref name="max"/> of those. The reserve is the part of the capacity not to be used now (a consumer that
    /// holds less than it may, because its jobs are slow); it is read again at every release.
    /// </summary>
    public async ValueTask<int> AcquireAsync(int min, int max, CancellationToken cancellationToken, int reserve = 0)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_available - reserve >= min)
                {
                    var taken = Math.Min(max, _available - reserve);
                    _available -= taken;
                    return taken;
                }

                _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _waiter.Task;
            }

            await wait.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Takes up to <paramref name="max"/> credits without waiting; 0 when none are free.</summary>
    public int TryAcquire(int max)
    {
        lock (_lock)
        {
            var taken = Math.Max(0, Math.Min(max, _available));
            _available -= taken;
            return taken;
        }
    }

    /// <summary>
    /// Takes <paramref name="count"/> credits that are not free: the count may go below zero, and the next
    /// <see cref="AcquireAsync"/> waits until as many have come back. Reclaimed work uses this to go ahead of new reads.
    /// </summary>
    public void Borrow(int count)
    {
        lock (_lock)
        {
            _available -= count;
        }
    }

    public void Release(int count)
    {
        if (count <= 0)
        {
            return;
        }

        TaskCompletionSource? waiter;
        lock (_lock)
        {
            _available += count;
            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetResult();
    }
}
