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

    [Test]
    public async Task Retention_OldDeadLettersAndFinishedRows_RemovedRecentOnesKept()
    {
        var dlq = Stream + ":dlq";
        await Db.ExecuteAsync("XADD", (RedisKey)dlq, "1000-0", "type", "noop", "error_type", "old");
        var recent = await Db.StreamAddAsync(dlq, [new NameValueEntry("type", "noop"), new NameValueEntry("error_type", "recent")]);
        var (oldJob, newJob, runningJob) = (NewJobId(), NewJobId(), NewJobId());
        await Infrastructure.ExecuteAsync(
            "INSERT INTO jobs (type, id, status, attempts, created_at, updated_at, finished_at) VALUES ('noop', $1, 'succeeded', 1, now() - interval '40 days', now() - interval '40 days', now() - interval '40 days')", oldJob);
        await Infrastructure.ExecuteAsync(
            "INSERT INTO jobs (type, id, status, attempts, created_at, updated_at, finished_at) VALUES ('noop', $1, 'dead_lettered', 1, now(), now(), now())", newJob);
        await Infrastructure.ExecuteAsync(
            "INSERT INTO jobs (type, id, status, attempts, created_at, updated_at) VALUES ('noop', $1, 'running', 1, now() - interval '40 days', now() - interval '40 days')", runningJob);

        await using var host = await WorkerTestHost.StartAsync(Settings(
            ("Worker:Retention:DeadLetters", "1.00:00:00"), ("Worker:Retention:FinishedJobs", "30.00:00:00"), ("Worker:Retention:Interval", "00:00:00.200")));

        await Eventually.TrueAsync(async () => await StatusAsync(oldJob) is null, "the 40-day-old finished row deleted");
        await Eventually.TrueAsync(async () => (await DeadLettersAsync()).Length == 1, "the 1970 dead letter removed");
        Assert.Multiple(async () =>
        {
            Assert.That((await DeadLettersAsync()).Single().Id.ToString(), Is.EqualTo(recent.ToString()));
            Assert.That(await StatusAsync(newJob), Is.EqualTo("dead_lettered"));
            Assert.That(await StatusAsync(runningJob), Is.EqualTo("running"), "unfinished work is never removed");
        });
    }

    [Test]
    public async Task Events_JobSucceeds_AlsoAppendedToTheCappedEventsStream()
    {
        var events = Stream + ":events";
        await using var host = await WorkerTestHost.StartAsync(Settings(("Worker:Events:Stream", events)));
        try
        {
            var jobId = await EnqueueAsync(host, "{}");

            var entries = await Eventually.GetAsync(() => Db.StreamRangeAsync(events), e => e.Length > 0, "an event in the events stream");
            Assert.That(Field(entries[0], "type"), Is.EqualTo("job.succeeded"));
            Assert.That(Field(entries[0], "data"), Does.Contain(jobId));
            Assert.That(Field(entries[0], "channel"), Is.EqualTo($"{Stream}:events:succeeded"));
        }
        finally
        {
            await Db.KeyDeleteAsync(events);
        }
    }
}
