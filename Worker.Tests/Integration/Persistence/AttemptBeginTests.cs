using Microsoft.Extensions.Time.Testing;
using Worker.Persistence;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Persistence;

/// <summary>The deferred begin row against the real <c>jobs</c> table, its timer on a <see cref="FakeTimeProvider"/>.</summary>
[TestFixture]
public sealed class AttemptBeginTests
{
    private const string Type = "attempt-begin-test";
    private static readonly TimeSpan After = TimeSpan.FromSeconds(1);

    private static Task<string?> StatusAsync(string id) =>
        Infrastructure.ScalarAsync<string?>("SELECT status FROM jobs WHERE type = $1 AND id = $2", Type, id);

    [Test]
    public async Task Deferred_TimePassesRecordRunningAfter_WritesTheRunningRowAndStopReturnsItsWrite()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, time);
        var id = Guid.NewGuid().ToString("N");
        var begin = AttemptBegin.Deferred(batcher, Type, id, "1-0", After, time);

        time.Advance(After);
        var written = begin.Stop();

        Assert.That(written, Is.Not.Null, "the timer asked for the row");
        await written!;
        Assert.That(await StatusAsync(id), Is.EqualTo("running"));
    }

    [Test]
    public async Task Deferred_StoppedBeforeItIsDue_NeverAsksForTheRow()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, time);
        var begin = AttemptBegin.Deferred(batcher, Type, Guid.NewGuid().ToString("N"), "1-0", After, time);

        time.Advance(After - TimeSpan.FromMilliseconds(1));
        var first = begin.Stop();
        time.Advance(After);

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.Null, "nothing written before the stop");
            Assert.That(begin.Stop(), Is.Null, "nor after it, when the time would have come");
        });
    }

    [Test]
    public async Task EnsureAsync_BeforeItIsDue_WritesTheRowOnceAndTheTimerAddsNothing()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var batcher = new JobStateBatcher(Infrastructure.Postgres, time);
        var id = Guid.NewGuid().ToString("N");
        var begin = AttemptBegin.Deferred(batcher, Type, id, "1-0", After, time);

        await begin.EnsureAsync(CancellationToken.None);
        time.Advance(After);
        await begin.Stop()!;

        Assert.That(
            await Infrastructure.ScalarAsync<int>("SELECT attempts FROM jobs WHERE type = $1 AND id = $2", Type, id),
            Is.EqualTo(1));
    }
}
