using StackExchange.Redis;
using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

[TestFixture]
public sealed class RetentionTests : EngineTestBase
{
    [Test]
    public async Task Run_TrimInterval_RemovesAcknowledgedEntriesButNeverAPendingOne()
    {
        var settings = Settings(("Worker:Jobs:noop:TrimInterval", "00:00:00.200"), ("Worker:Jobs:noop:PersistState", "false"));
        var first = Enumerable.Range(0, 300).Select(_ => new JobRequest("{}")).ToArray();
        await using (var host = await WorkerTestHost.StartAsync(settings))
        {
            await host.Queue.EnqueueBatchAsync("noop", first);
            await Eventually.TrueAsync(
                async () => await Db.KeyExistsAsync(Stream) && (await Db.StreamGroupInfoAsync(Stream)) is [{ Lag: 0 }] && await PendingAsync() == 0,
                "the first 300 done");
        }

        // A consumer that died holding five entries in the middle of the stream.
        for (var i = 0; i < 5; i++)
        {
            await AddRawAsync(("type", "noop"), ("payload", "{}"));
        }

        var held = await ReadAsGhostAsync("dead-holder", 5);
        await using (var host = await WorkerTestHost.StartAsync(settings))
        {
            await host.Queue.EnqueueBatchAsync("noop", first);
            await Eventually.TrueAsync(async () => await Db.StreamLengthAsync(Stream) < 605, "acknowledged entries trimmed");
        }

        Assert.That(held, Has.Length.EqualTo(5));
        foreach (var entry in held)
        {
            var still = await Db.StreamRangeAsync(Stream, entry.Id, entry.Id);
            Assert.That(still, Has.Length.EqualTo(1), $"pending entry {entry.Id} must survive trimming");
        }

        Assert.That(await PendingAsync(), Is.EqualTo(5));
    }
}
