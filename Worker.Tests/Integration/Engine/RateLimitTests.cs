using StackExchange.Redis;
using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>
/// A fleet-wide rate limit: the window script on its own, then two replicas sharing one limit. Only lower bounds on time
/// are checked (a slow machine stretches them, never shortens them).
/// </summary>
[TestFixture]
public sealed class RateLimitTests : EngineTestBase
{
    [Test]
    public async Task TakeStarts_LimitReached_GrantsWhatIsLeftAndSaysWhenOneFrees()
    {
        var key = Stream + ":rate";
        var first = await TakeAsync(key, wanted: 3, "a");
        var second = await TakeAsync(key, wanted: 4, "b");
        var third = await TakeAsync(key, wanted: 1, "c");

        Assert.Multiple(async () =>
        {
            Assert.That(first, Is.EqualTo((3L, 0L)));
            Assert.That(second.Granted, Is.EqualTo(2), "five per minute: two left");
            Assert.That(second.WaitMs, Is.InRange(1, 60_001), "until the oldest start leaves the window");
            Assert.That(third.Granted, Is.Zero);
            Assert.That(await Db.SortedSetLengthAsync(key), Is.EqualTo(5));
            Assert.That(await Db.KeyTimeToLiveAsync(key), Is.Not.Null, "the window expires when unused");
        });
    }

    [Test]
    public async Task Run_TwoReplicasSharingALimit_StartsSpreadOverTheWindowsAndNoAttemptCharged()
    {
        var settings = Settings(
            ("Worker:Jobs:noop:RateLimit:Limit", "10"), ("Worker:Jobs:noop:RateLimit:Period", "00:00:01"), ("Worker:Jobs:noop:Concurrency", "4"));
        // Two replicas in one process: each its own consumer name, as two processes would have.
        await using var first = await WorkerTestHost.StartAsync(new Dictionary<string, string?>(settings) { ["Worker:ConsumerName"] = "first" });
        await using var second = await WorkerTestHost.StartAsync(new Dictionary<string, string?>(settings) { ["Worker:ConsumerName"] = "second" });
        var ids = Enumerable.Range(0, 30).Select(_ => NewJobId()).ToArray();
        var watch = System.Diagnostics.Stopwatch.StartNew();

        await first.Queue.EnqueueBatchAsync("noop", [.. ids.Select(id => new JobRequest("{}", id))]);

        await Eventually.TrueAsync(async () => await Infrastructure.ScalarAsync<long>(
            "SELECT count(*) FROM jobs WHERE type = 'noop' AND id = ANY($1) AND status = 'succeeded'", (object)ids) == 30, "all 30 succeeded");
        // From before the enqueue to the last success: a bound a slow machine only lengthens (the rows' finished_at are
        // their batches' write times, which a late first batch would bring closer together).
        var spread = watch.Elapsed.TotalSeconds;
        Assert.Multiple(async () =>
        {
            // Ten in the first window, ten in the next, ten in the third: the last at least two windows after the first.
            Assert.That(spread, Is.GreaterThanOrEqualTo(1.9));
            Assert.That(await Infrastructure.ScalarAsync<long>(
                "SELECT count(*) FROM jobs WHERE type = 'noop' AND id = ANY($1) AND attempts <> 1", (object)ids), Is.Zero, "waiting is not an attempt");
        });
    }

    [Test]
    public async Task Run_LimitHoldsJobsBack_ReplicaHoldsNoMoreThanItsSlots()
    {
        // One start a minute: the first job runs, the rest wait in the stream, not in the replica.
        await using var host = await WorkerTestHost.StartAsync(Settings(
            ("Worker:Jobs:noop:RateLimit:Limit", "1"), ("Worker:Jobs:noop:RateLimit:Period", "00:01:00"), ("Worker:Jobs:noop:Concurrency", "2")));
        var ids = Enumerable.Range(0, 20).Select(_ => NewJobId()).ToArray();

        await host.Queue.EnqueueBatchAsync("noop", [.. ids.Select(id => new JobRequest("{}", id))]);

        await Eventually.TrueAsync(async () => await Infrastructure.ScalarAsync<long>(
            "SELECT count(*) FROM jobs WHERE type = 'noop' AND id = ANY($1)", (object)ids) == 1, "one job started");
        await Eventually.TrueAsync(async () => await PendingAsync() == 2, "the two slots' worth read: one waiting for the limit");
        var info = (await Db.StreamGroupInfoAsync(Stream)).Single();
        Assert.Multiple(async () =>
        {
            Assert.That(info.Lag, Is.EqualTo(17), "the rest left in the stream for any replica");
            Assert.That(await Infrastructure.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE type = 'noop' AND id = ANY($1)", (object)ids), Is.EqualTo(1));
        });
    }

    private static async Task<(long Granted, long WaitMs)> TakeAsync(string key, int wanted, string prefix)
    {
        var reply = (RedisResult[])(await Db.ScriptEvaluateAsync(StreamScripts.TakeStarts, [key], [5, 60_000, wanted, prefix]))!;
        return ((long)reply[0], (long)reply[1]);
    }
}
