using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using Worker.Jobs;
using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Unit.Engine;

/// <summary>The slots: how many run at once, what each finished entry leaves to do, and what a stop hands back.</summary>
[TestFixture]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class JobDispatcherTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Start);
    private readonly ConcurrentDictionary<string, byte> _owned = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JobOutcome>> _runs = new();
    private readonly ConcurrentDictionary<string, ValueTask<DeliveryOutcome>> _fates = new();
    private readonly ConcurrentQueue<string> _started = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CreditGate _credits = new(3);
    private int _running;
    private int _mostRunning;
    private Acker _acker = null!;

    private JobDispatcher NewDispatcher(int concurrency)
    {
        _acker = new Acker(_ => Task.CompletedTask, _owned, "noop", _time, NullLogger.Instance);
        var settings = JobTypeSettings.Resolve("noop", new JobTypeOptions { Stream = "jobs:dispatcher-test", Concurrency = concurrency });
        return new JobDispatcher(
            settings, ExecuteAsync, Apply, _acker, _credits, _owned, new PrefetchSizer(settings.Prefetch, concurrency, settings.BatchSize),
            sharedSlots: null, _time, NullLogger.Instance);
    }

    private async ValueTask<JobOutcome> ExecuteAsync(Delivery delivery, CancellationToken hardStop)
    {
        _started.Enqueue(delivery.Id);
        var now = Interlocked.Increment(ref _running);
        InterlockedMax(ref _mostRunning, now);
        try
        {
            return await Run(delivery.Id).Task;
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    private ValueTask<DeliveryOutcome> Apply(Delivery delivery, JobOutcome outcome, CancellationToken hardStop) =>
        _fates.TryGetValue(delivery.Id, out var fate)
            ? fate
            : new ValueTask<DeliveryOutcome>(outcome.Kind == OutcomeKind.Release ? DeliveryOutcome.Release : DeliveryOutcome.Ack);

    private TaskCompletionSource<JobOutcome> Run(string id) =>
        _runs.GetOrAdd(id, _ => new TaskCompletionSource<JobOutcome>(TaskCreationOptions.RunContinuationsAsynchronously));

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private void Hold(JobDispatcher dispatcher, params string[] ids)
    {
        Assert.That(_credits.TryAcquire(ids.Length), Is.EqualTo(ids.Length));
        foreach (var id in ids)
        {
            _owned[id] = 0;
            dispatcher.Hand(new Delivery(new StreamEntry(id, []), 1));
        }
    }

    private static readonly JobOutcome Succeeded = new(OutcomeKind.Succeeded);

    private Task WaitStartedAsync(int count) =>
        Eventually.TrueAsync(() => Task.FromResult(_started.Count >= count), $"{count} executions to start");

    [Test]
    public async Task Hand_ThreeEntriesTwoSlots_TwoRunAtOnceEachIsAckedAndItsCreditComesBack()
    {
        var dispatcher = NewDispatcher(concurrency: 2);
        var run = dispatcher.RunAsync(_stopping.Token, CancellationToken.None);
        Hold(dispatcher, "1-0", "2-0", "3-0");

        await WaitStartedAsync(2);
        Assert.That(_started, Has.None.EqualTo("3-0"), "a third started with two slots");
        _time.Advance(TimeSpan.FromSeconds(5));
        Run("1-0").SetResult(Succeeded);
        await WaitStartedAsync(3);
        Run("2-0").SetResult(Succeeded);
        Run("3-0").SetResult(Succeeded);
        dispatcher.Complete();
        await run;

        Assert.That(_mostRunning, Is.EqualTo(2));
        Assert.That(_acker.TakeForRead().ToArray(), Is.EquivalentTo(new[] { "1-0", "2-0", "3-0" }));
        Assert.That(_credits.TryAcquire(3), Is.EqualTo(3), "every credit came back");
        Assert.That(dispatcher.LastProgress, Is.EqualTo(Start.AddSeconds(5)), "progress is told by the clock given");
    }

    [Test]
    public async Task Stopping_AnEntryNotStarted_IsHandedBackUnstartedAndNeverRuns()
    {
        var dispatcher = NewDispatcher(concurrency: 1);
        _stopping.Cancel();
        var run = dispatcher.RunAsync(_stopping.Token, CancellationToken.None);
        Hold(dispatcher, "1-0");
        dispatcher.Complete();
        await run;

        Assert.That(_started, Is.Empty);
        Assert.That(_owned, Is.Empty);
        var (unstarted, started) = dispatcher.Releases(["9-0"]);
        Assert.That(unstarted, Is.EquivalentTo(new[] { "1-0", "9-0" }));
        Assert.That(started, Is.Empty);
        Assert.That(_credits.TryAcquire(3), Is.EqualTo(3));
    }

    [Test]
    public async Task SuccessWhoseRowIsPending_TheSlotTakesTheNextJob_AndTheEntryIsAckedWhenTheRowCommits()
    {
        var dispatcher = NewDispatcher(concurrency: 1);
        var row = new TaskCompletionSource<DeliveryOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        _fates["1-0"] = new ValueTask<DeliveryOutcome>(row.Task);
        var run = dispatcher.RunAsync(_stopping.Token, CancellationToken.None);
        Hold(dispatcher, "1-0", "2-0");

        Run("1-0").SetResult(Succeeded);
        await WaitStartedAsync(2);
        Run("2-0").SetResult(Succeeded);
        dispatcher.Complete();
        // The third credit was never taken; the second job's comes back; the first job's stays while its row is written.
        await Eventually.GetAsync(() => Task.FromResult(FreeCredits()), free => free == 2, "the second job's credit back");
        Assert.That(run.IsCompleted, Is.False, "the slots ended before the first job's row committed");
        Assert.That(_acker.TakeForRead().ToArray(), Is.EqualTo(new[] { "2-0" }));

        row.SetResult(DeliveryOutcome.Ack);
        await run;

        Assert.That(_acker.TakeForRead().ToArray(), Is.EqualTo(new[] { "1-0" }));
        Assert.That(_credits.TryAcquire(3), Is.EqualTo(3));
    }

    [Test]
    public async Task ExecutorThrows_TheEntryIsHandedBackAsStartedAndTheSlotGoesOn()
    {
        var dispatcher = NewDispatcher(concurrency: 1);
        var run = dispatcher.RunAsync(_stopping.Token, CancellationToken.None);
        Hold(dispatcher, "1-0", "2-0");

        Run("1-0").SetException(new InvalidOperationException("a bug"));
        Run("2-0").SetResult(Succeeded);
        dispatcher.Complete();
        await run;

        Assert.That(_started, Is.EqualTo(new[] { "1-0", "2-0" }));
        var (unstarted, started) = dispatcher.Releases([]);
        Assert.That(started, Is.EqualTo(new[] { "1-0" }));
        Assert.That(unstarted, Is.Empty);
        Assert.That(_acker.TakeForRead().ToArray(), Is.EqualTo(new[] { "2-0" }));
    }

    [Test]
    public async Task FateSettledOrReleased_NoAck_AndOnlyTheReleasedOneIsHandedBack()
    {
        var dispatcher = NewDispatcher(concurrency: 1);
        _fates["1-0"] = new ValueTask<DeliveryOutcome>(DeliveryOutcome.Settled);
        _fates["2-0"] = new ValueTask<DeliveryOutcome>(DeliveryOutcome.Release);
        var run = dispatcher.RunAsync(_stopping.Token, CancellationToken.None);
        Hold(dispatcher, "1-0", "2-0");

        Run("1-0").SetResult(new JobOutcome(OutcomeKind.DeadLetter));
        Run("2-0").SetResult(JobOutcome.Released);
        dispatcher.Complete();
        await run;

        Assert.That(_acker.TakeForRead().Length, Is.Zero);
        Assert.That(_owned, Is.Empty);
        Assert.That(dispatcher.Releases([]).Started, Is.EqualTo(new[] { "2-0" }));
    }

    private int FreeCredits()
    {
        var free = _credits.TryAcquire(3);
        _credits.Release(free);
        return free;
    }
}
