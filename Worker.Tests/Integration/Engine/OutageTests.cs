using StackExchange.Redis;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

[TestFixture]
public sealed class OutageTests : EngineTestBase
{
    [Test]
    public async Task Run_RedisKilledAndRestarted_WorkerReconnectsAndLosesNothing()
    {
        using var redis = new PrivateRedis();
        await redis.StartAsync();
        var settings = Settings(("ConnectionStrings:Redis", redis.Configuration + ",abortConnect=false"));
        await using var host = await WorkerTestHost.StartAsync(settings);
        using var producer = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",abortConnect=false");
        async Task<string> AddAsync()
        {
            var id = NewJobId();
            await producer.GetDatabase().StreamAddAsync(Stream, [new("type", "noop"), new("payload", """{"effect":true}"""), new("job_id", id)]);
            return id;
        }

        var before = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            before.Add(await AddAsync());
        }

        redis.Kill();
        await redis.StartAsync();
        var after = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            after.Add(await AddAsync());
        }

        var all = before.Concat(after).ToArray();
        await Eventually.TrueAsync(
            async () => await Infrastructure.ScalarAsync<long>(
                "SELECT count(*) FROM jobs WHERE type = 'noop' AND id = ANY($1) AND status = 'succeeded'", new object[] { all }) == all.Length,
            "every job enqueued before and after the restart to succeed", TimeSpan.FromSeconds(60));
        var effects = await Infrastructure.ScalarAsync<long>("SELECT count(*) FROM noop_effects WHERE job_id = ANY($1)", new object[] { all });
        Assert.That(effects, Is.EqualTo(all.Length), "one effect per job");
    }

    [Test]
    public async Task Run_JobThatCrashesItsWorker_DeadLetteredAfterTheDeliveryLimit()
    {
        var settings = Settings(
            ("Worker:Jobs:noop:MaxDeliveries", "2"),
            ("Worker:Jobs:noop:VisibilityTimeout", "00:00:01"),
            ("Worker:Jobs:noop:ClaimInterval", "00:00:00.200"),
            ("Worker:Jobs:noop:Concurrency", "1"),
            ("Worker:Jobs:noop:BatchSize", "1"));
        var poison = await EnqueueDirectAsync("""{"crash":true}""");
        var innocent = await EnqueueDirectAsync("{}");

        // Each worker process that takes the poison job dies of it; the third delivery is over the limit of two.
        for (var run = 0; run < 5 && (await DeadLettersAsync()).Length == 0; run++)
        {
            using var worker = WorkerProcess.Start(settings, "run");
            await Eventually.TrueAsync(
                async () => worker.HasExited || (await DeadLettersAsync()).Length > 0, "the worker to crash or dead-letter the poison job",
                TimeSpan.FromSeconds(30));
        }

        var letter = (await DeadLettersAsync()).Single();
        Assert.That(Field(letter, "job_id"), Is.EqualTo(poison));
        Assert.That(Field(letter, "error_type"), Is.EqualTo("delivery_limit_exceeded"));
        await using var host = await WorkerTestHost.StartAsync(settings);
        await WaitForStatusAsync(innocent, "succeeded");
    }
}
