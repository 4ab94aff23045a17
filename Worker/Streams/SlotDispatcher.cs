using System.Threading.Tasks.Sources;

namespace Worker.Streams;

/// <summary>
/// Hands items to a fixed set of slot loops, one item per slot at a time, so no more run at once than there are
/// slots. An idle slot is resumed either on the thread pool or, when the caller asks, on the caller's own thread:
/// then the slot's work starts before <see cref="Dispatch"/> returns and no other thread is woken. Items that find
/// no idle slot wait in order for the next slot that frees up; items dispatched <c>first</c> (work reclaimed from a
/// dead peer, the oldest in the group) wait ahead of every other.
/// </summary>
internal sealed class SlotDispatcher<T>
{
    private readonly Lock _lock = new();
    private readonly Queue<T> _first = new();
    private readonly Queue<T> _waiting = new();
    private readonly Stack<Slot> _idle = new();
    private bool _completed;

    /// <summary>Items waiting for a slot.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _first.Count + _waiting.Count;
            }
        }
    }

    /// <summary>
    /// Gives <paramref name="item"/> to an idle slot, or queues it when none is idle; false once completed. With
    /// <paramref name="inline"/> an idle slot runs on this thread until its work first waits, then this returns.
    /// With <paramref name="first"/> a queued item goes ahead of the items already waiting (but behind earlier firsts).
    /// </summary>
    public bool TryDispatch(T item, bool inline = false, bool first = false)
    {
        Slot? slot;
        lock (_lock)
        {
            if (_completed)
            {
                return false;
            }

            if (!_idle.TryPop(out slot))
            {
                (first ? _first : _waiting).Enqueue(item);
                return true;
            }
        }

        slot.Resume(item, inline);
        return true;
    }

    /// <summary>No more items: slots finish what is queued, then <see cref="NextAsync"/> returns false.</summary>
    public void Complete()
    {
        Slot[] idle;
        lock (_lock)
        {
            _completed = true;
            idle = [.. _idle];
            _idle.Clear();
        }

        foreach (var slot in idle)
        {
            slot.Finish();
        }
    }

    /// <summary>Waits for the next item for <paramref name="slot"/>: true with it in <see cref="Slot.Item"/>, false when completed.</summary>
    public ValueTask<bool> NextAsync(Slot slot)
    {
        lock (_lock)
        {
            if (_first.TryDequeue(out var item) || _waiting.TryDequeue(out item))
            {
                slot.Item = item;
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            slot.Park();
            _idle.Push(slot);
        }

        return slot.Waiting;
    }

    /// <summary>One slot loop's place in the dispatcher: reused for every item it takes, so a wait allocates nothing.</summary>
    public sealed class Slot : IValueTaskSource<bool>
    {
        private ManualResetValueTaskSourceCore<bool> _core;

        /// <summary>The item the last <see cref="NextAsync"/> returned true for.</summary>
        public T Item { get; internal set; } = default!;

        internal ValueTask<bool> Waiting => new(this, _core.Version);

        internal void Park() => _core.Reset();

        internal void Resume(T item, bool inline)
        {
            Item = item;
            _core.RunContinuationsAsynchronously = !inline;
            _core.SetResult(true);
        }

        internal void Finish()
        {
            _core.RunContinuationsAsynchronously = true;
            _core.SetResult(false);
        }

        bool IValueTaskSource<bool>.GetResult(short token) => _core.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _core.GetStatus(token);

        void IValueTaskSource<bool>.OnCompleted(
            Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
