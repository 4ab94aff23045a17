using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Unit.Engine;

[TestFixture]
public sealed class SlotDispatcherTests
{
    /// <summary>A slot loop that records which item ran on which thread; started on the caller, so it parks before this returns.</summary>
    private static async Task RecordingSlotAsync(SlotDispatcher<int> dispatcher, List<(int Item, int Thread)> ran)
    {
        var slot = new SlotDispatcher<int>.Slot();
        while (await dispatcher.NextAsync(slot))
        {
            lock (ran)
            {
                ran.Add((slot.Item, Environment.CurrentManagedThreadId));
            }
        }
    }

    [Test]
    public void TryDispatch_InlineToAnIdleSlot_RunsItOnTheCallersThreadBeforeReturning()
    {
        // As the consumer's slot loops run: on the pool, with no context of the test runner's to post back to.
        var context = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            InlineRunsOnTheCallersThread();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }
    }

    private static void InlineRunsOnTheCallersThread()
    {
        var dispatcher = new SlotDispatcher<int>();
        var ran = new List<(int Item, int Thread)>();
        _ = RecordingSlotAsync(dispatcher, ran);

        Assert.That(dispatcher.TryDispatch(7, inline: true), Is.True);

        Assert.That(ran, Is.EqualTo(new[] { (7, Environment.CurrentManagedThreadId) }), "run here, already done when the call returned");
    }

    [Test]
    public async Task TryDispatch_NotInline_RunsItOnAnotherThread()
    {
        var dispatcher = new SlotDispatcher<int>();
        var ran = new List<(int Item, int Thread)>();
        _ = RecordingSlotAsync(dispatcher, ran);
        var caller = Environment.CurrentManagedThreadId;

        Assert.That(dispatcher.TryDispatch(7), Is.True);

        await Eventually.TrueAsync(() => { lock (ran) { return Task.FromResult(ran.Count == 1); } }, "the slot to run the item");
        Assert.That(ran[0].Item, Is.EqualTo(7));
        Assert.That(ran[0].Thread, Is.Not.EqualTo(caller), "resumed on the thread pool, not on the dispatching thread");
    }

    [Test]
    public void TryDispatch_NoIdleSlot_QueuesItemsForTheNextSlotInOrder()
    {
        var dispatcher = new SlotDispatcher<int>();
        for (var i = 1; i <= 3; i++)
        {
            Assert.That(dispatcher.TryDispatch(i, inline: true), Is.True);
        }

        Assert.That(dispatcher.Waiting, Is.EqualTo(3));
        var ran = new List<(int Item, int Thread)>();
        _ = RecordingSlotAsync(dispatcher, ran);

        Assert.That(ran.Select(r => r.Item), Is.EqualTo(new[] { 1, 2, 3 }), "a slot starting finds them without waiting");
        Assert.That(dispatcher.Waiting, Is.Zero);
    }

    [Test]
    public async Task Complete_EndsParkedSlotsAfterWhatIsQueuedAndRefusesMore()
    {
        var dispatcher = new SlotDispatcher<int>();
        var ran = new List<(int Item, int Thread)>();
        var parked = RecordingSlotAsync(dispatcher, ran);
        dispatcher.TryDispatch(1, inline: true);

        dispatcher.Complete();

        await parked.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(ran.Select(r => r.Item), Is.EqualTo(new[] { 1 }));
        Assert.That(dispatcher.TryDispatch(2), Is.False, "nothing is taken once completed");
    }

    [Test]
    public async Task Complete_QueuedItemsStillRunBeforeSlotsEnd()
    {
        var dispatcher = new SlotDispatcher<int>();
        dispatcher.TryDispatch(1);
        dispatcher.TryDispatch(2);

        dispatcher.Complete();
        var ran = new List<(int Item, int Thread)>();
        await RecordingSlotAsync(dispatcher, ran).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.That(ran.Select(r => r.Item), Is.EqualTo(new[] { 1, 2 }));
    }

    [Test]
    public async Task TryDispatch_ManyItemsFromAnotherThread_EachRunsOnceAndNoMoreRunAtOnceThanSlots()
    {
        const int Slots = 4, Items = 5_000;
        var dispatcher = new SlotDispatcher<int>();
        var running = 0;
        var most = 0;
        var seen = new int[Items];

        async Task SlotAsync()
        {
            var slot = new SlotDispatcher<int>.Slot();
            while (await dispatcher.NextAsync(slot))
            {
                var now = Interlocked.Increment(ref running);
                InterlockedMax(ref most, now);
                Interlocked.Increment(ref seen[slot.Item]);
                if (slot.Item % 3 == 0)
                {
                    await Task.Yield();
                }

                Interlocked.Decrement(ref running);
            }
        }

        var slots = Enumerable.Range(0, Slots).Select(_ => Task.Run(SlotAsync)).ToArray();
        await Task.Run(() =>
        {
            for (var i = 0; i < Items; i++)
            {
                dispatcher.TryDispatch(i, inline: i % 2 == 0);
            }
        });
        dispatcher.Complete();
        await Task.WhenAll(slots).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.That(seen, Is.All.EqualTo(1), "every item ran exactly once");
        Assert.That(most, Is.InRange(1, Slots));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    [Test]
    public async Task NextAsync_FirstItemsQueuedBehindOthers_AreTakenAheadOfThemInTheirOwnOrder()
    {
        var dispatcher = new SlotDispatcher<int>();
        dispatcher.TryDispatch(1);
        dispatcher.TryDispatch(2);
        dispatcher.TryDispatch(10, first: true);
        dispatcher.TryDispatch(3);
        dispatcher.TryDispatch(11, first: true);
        dispatcher.Complete();

        var taken = new List<int>();
        var slot = new SlotDispatcher<int>.Slot();
        while (await dispatcher.NextAsync(slot))
        {
            taken.Add(slot.Item);
        }

        Assert.That(taken, Is.EqualTo(new[] { 10, 11, 1, 2, 3 }));
    }
}
