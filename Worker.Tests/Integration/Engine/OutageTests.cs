using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
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
    public async Task Run_PostgresGoneForSeconds_JobsWaitAndNoneIsDeadLetteredForIt()
    {
        var postgres = new Npgsql.NpgsqlConnectionStringBuilder(TestEnvironment.Postgres);
        await using var proxy = new TcpProxy(postgres.Host!, postgres.Port);
        postgres.Port = proxy.Port;
        postgres.Host = "127.0.0.1";
        postgres.Timeout = 3;
        await using var host = await WorkerTestHost.StartAsync(Settings(("ConnectionStrings:Postgres", postgres.ConnectionString)));
        var warmup = await EnqueueAsync(host, """{"effect":true}""");
        await WaitForStatusAsync(warmup, "succeeded");

        proxy.Cut();
        var during = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            during.Add(await EnqueueAsync(host, """{"effect":true}"""));
        }

        // A slot's worth read and hitting the outage (a replica holds only a little beyond its slots), then long
        // enough for each of them to have hit it several times over.
        await Eventually.TrueAsync(async () => await PendingAsync() >= 3, "the jobs to be read during the outage");
        var deadline = DateTime.UtcNow.AddSeconds(4);
        while (DateTime.UtcNow < deadline)
        {
            Assert.That(await DeadLettersAsync(), Is.Empty, "an outage is not the jobs' fault");
            await Task.Delay(200);
        }

        proxy.Restore();

        var all = during.ToArray();
        await Eventually.TrueAsync(
            async () => await Infrastructure.ScalarAsync<long>(
                "SELECT count(*) FROM jobs WHERE type = 'noop' AND id = ANY($1) AND status = 'succeeded'", new object[] { all }) == all.Length,
            "every job to succeed once PostgreSQL is back", TimeSpan.FromSeconds(60));
        Assert.Multiple(async () =>
        {
            Assert.That(await Infrastructure.ScalarAsync<long>("SELECT count(*) FROM noop_effects WHERE job_id = ANY($1)", new object[] { all }), Is.EqualTo(all.Length));
            Assert.That(await Infrastructure.ScalarAsync<long>("SELECT max(attempts) FROM jobs WHERE type = 'noop' AND id = ANY($1)", new object[] { all }), Is.EqualTo(1),
                "waiting for the database costs no attempts");
            Assert.That(await DeadLettersAsync(), Is.Empty);
        });
        await Eventually.TrueAsync(async () => await PendingAsync() == 0, "everything acked");
    }

    [Test]
    public async Task Run_RedisConnectionsKilledRepeatedly_NothingLostAndEffectsOnce()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings());
        var ids = new List<string>();
        for (var round = 0; round < 5; round++)
        {
            for (var i = 0; i < 20; i++)
            {
                // Through the test's own connection, which the kill spares: the worker's shared connection may not
                // have noticed the last kill yet, and an enqueue written into it then fails (the caller's to retry).
                ids.Add(await EnqueueDirectAsync("""{"effect":true,"delay_ms":20}"""));
            }

            // Every normal connection but this one: the worker's shared connection and its reader alike. The reader
            // reconnects on its next read, after the loop's backoff: wait for it, so that each round kills both.
            await Eventually.TrueAsync(
                async () => ((string?)await Db.ExecuteAsync("CLIENT", "LIST"))!.Contains(":reader ", StringComparison.Ordinal),
                "the worker's reader to be connected");
            var killed = (long)await Db.ExecuteAsync("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
            Assert.That(killed, Is.GreaterThanOrEqualTo(2), "the worker's connections were there to kill");
        }

        await AllSucceededOnceAsync([.. ids], "every job to succeed");
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

    [Test]
    public async Task Run_RedisPartitionedForSeconds_ReaderGivesUpReconnectsAndNothingIsLost()
    {
        var redis = TestEnvironment.RedisAddress;
        await using var proxy = new TcpProxy(redis.Host, redis.Port);
        var sink = new RecordingSink();
        await using var host = await WorkerTestHost.StartAsync(
            Settings(
                ("ConnectionStrings:Redis", $"127.0.0.1:{proxy.Port},abortConnect=false,connectTimeout=2000"),
                ("Worker:Jobs:noop:BlockTime", "00:00:01"),
                ("Worker:Jobs:noop:VisibilityTimeout", "00:00:03")),
            services => services.AddSingleton<ILogEventSink>(sink));
        var warmup = await EnqueueDirectAsync("""{"effect":true}""");
        await WaitForStatusAsync(warmup, "succeeded");
        await Eventually.TrueAsync(ReaderParkedAsync, "the reader to park through the proxy");

        // No byte moves, no connection closes: the parked read's reply (if Redis hands it entries now) never arrives,
        // and the reader learns of it only from its read timeout.
        proxy.Freeze();
        var ids = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            ids.Add(await EnqueueDirectAsync("""{"effect":true}"""));
        }

        await Eventually.TrueAsync(
            () => Task.FromResult(sink.WithEventId(1004).Any(e => e.Exception?.Message.Contains("stream reader", StringComparison.Ordinal) == true)),
            "the reader to give up on its silent connection", TimeSpan.FromSeconds(30));
        proxy.Thaw();
        for (var i = 0; i < 10; i++)
        {
            ids.Add(await EnqueueDirectAsync("""{"effect":true}"""));
        }

        await AllSucceededOnceAsync([.. ids], "every job enqueued during and after the partition to succeed");
    }

    /// <summary>Waits for every job to succeed, then checks one effect each and nothing left pending.</summary>
    private async Task AllSucceededOnceAsync(string[] all, string what)
    {
        await Eventually.TrueAsync(
            async () => await Infrastructure.ScalarAsync<long>(
                "SELECT count(*) FROM jobs WHERE type = 'noop' AND id = ANY($1) AND status = 'succeeded'", new object[] { all }) == all.Length,
            what, TimeSpan.FromSeconds(60));
        Assert.That(await Infrastructure.ScalarAsync<long>("SELECT count(*) FROM noop_effects WHERE job_id = ANY($1)", new object[] { all }), Is.EqualTo(all.Length), "one effect per job");
        await Eventually.TrueAsync(async () => await PendingAsync() == 0, "everything acked");
    }
}
