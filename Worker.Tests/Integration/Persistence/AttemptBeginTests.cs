using Microsoft.Extensions.Time.Testing;
using Worker.Persistence;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Persistence;

/// <summary>The deferred begin row and its clock against the real <c>jobs</c> table, time on a <see cref="FakeTimeProvider"/>.</summary>
[TestFixture]
public sealed class AttemptBeginTests
{
    private const string Type = "attempt-begin-test";
    private static readonly TimeSpan After = TimeSpan.FromSeconds(1);

    private static Task<string?> StatusAsync(string id) =>
        Infrastructure.ScalarAsync<string?>("SELECT status FROM jobs WHERE type = $1 AND id = $2", Type, id);

    private static string NewId() => Guid.NewGuid().ToString("N");

    [Test]
    public async Task Clock_ExecutionRunsPastAfter_WritesItsRunningRowAndStopReturnsTheWrite()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, time);
        using var clock = new RunningRowClock(4, After, time);
        var id = NewId();
        var begin = AttemptBegin.Deferred(batcher, Type, id, "1-0", time.GetTimestamp());
        clock.Watch(begin);

        // The clock ticks every quarter of After: the row is due at the first tick at or past it.
        for (var i = 0; i < 4; i++)
        {
            time.Advance(After / 4);
        }

        var written = begin.Stop();

        Assert.That(written, Is.Not.Null, "the clock asked for the row");
        await written!;
        Assert.That(await StatusAsync(id), Is.EqualTo("running"));
    }

    [Test]
    public async Task Clock_ExecutionStoppedBeforeAfter_NeverAsksForTheRow()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, time);
        using var clock = new RunningRowClock(4, After, time);
        var begin = AttemptBegin.Deferred(batcher, Type, NewId(), "1-0", time.GetTimestamp());
        clock.Watch(begin);

        time.Advance(After / 2);
        clock.Forget(begin);
        var first = begin.Stop();
        time.Advance(After * 2);

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.Null, "nothing written before the stop");
            Assert.That(begin.Stop(), Is.Null, "nor after it, when the time would have come");
        });
    }

    [Test]
    public async Task Clock_TableFull_WatchSaysSoAndAForgottenPlaceIsTakenAgain()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, time);
        using var clock = new RunningRowClock(2, After, time);
        AttemptBegin New() => AttemptBegin.Deferred(batcher, Type, NewId(), "1-0", time.GetTimestamp());

        var first = New();
        var (a, b) = (clock.Watch(first), clock.Watch(New()));
        var full = clock.Watch(New());
        clock.Forget(first);
        var again = clock.Watch(New());

        Assert.Multiple(() =>
        {
            Assert.That(new[] { a, b }, Is.EquivalentTo(new[] { 0, 1 }));
            Assert.That(full, Is.EqualTo(-1));
            Assert.That(again, Is.EqualTo(a));
        });
    }

    [Test]
    public async Task Start_TableFull_AsksForTheRowAtOnce()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, time);
        using var clock = new RunningRowClock(1, After, time);
        var (watched, id) = (clock.Start(batcher, Type, NewId(), "1-0"), NewId());

        var overflow = clock.Start(batcher, Type, id, "2-0");

        Assert.That(watched.Stop(), Is.Null, "the first one waits for its time");
        await overflow.Stop()!;
        Assert.That(await StatusAsync(id), Is.EqualTo("running"));
    }

    [Test]
    public async Task EnsureAsync_BeforeItIsDue_WritesTheRowOnceAndTheClockAddsNothing()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, time);
        using var clock = new RunningRowClock(4, After, time);
        var id = NewId();
        var begin = AttemptBegin.Deferred(batcher, Type, id, "1-0", time.GetTimestamp());
        clock.Watch(begin);

        await begin.EnsureAsync(CancellationToken.None);
        time.Advance(After * 2);
        await begin.Stop()!;

        Assert.That(
            await Infrastructure.ScalarAsync<int>("SELECT attempts FROM jobs WHERE type = $1 AND id = $2", Type, id),
            Is.EqualTo(1));
    }
}
