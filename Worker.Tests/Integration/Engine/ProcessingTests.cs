using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using StackExchange.Redis;
using Worker.Hosting;
using Worker.Jobs;
using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

[TestFixture]
public sealed class ProcessingTests : EngineTestBase
{
    [Test]
    public async Task Run_JobsEnqueued_AllSucceedAndAreAcked()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings());
        var ids = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            ids.Add(await EnqueueAsync(host, "{}"));
        }

        await Eventually.TrueAsync(
            async () => await Infrastructure.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE type = 'noop' AND id = ANY($1) AND status = 'succeeded'", new object[] { ids.ToArray() }) == 50,
            "50 succeeded jobs");
        await Eventually.TrueAsync(async () => await PendingAsync() == 0, "no pending entries");
        Assert.That(await DeadLettersAsync(), Is.Empty);
    }

    /// <summary>
    /// Full reads are followed by reads that do not block (the client's own XREADGROUP); once the backlog is gone the
    /// reader parks a blocking read again and picks up the next job at once.
    /// </summary>
    [Test]
    public async Task Run_BacklogOfManyBatches_DrainedThenTheReaderParksAndPicksUpTheNextJob()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings(
            ("Worker:Jobs:noop:BatchSize", "10"), ("Worker:Jobs:noop:PersistState", "false")));
        var backlog = Enumerable.Range(0, 500).Select(_ => new JobRequest("{}")).ToArray();
        await host.Queue.EnqueueBatchAsync("noop", backlog);

        await Eventually.TrueAsync(async () => await ReadAndSettledAsync() == (500, 0, 0), "the backlog drained and acked");
        await Eventually.TrueAsync(ReaderParkedAsync, "the reader to park a blocking read");
        await EnqueueAsync(host, "{}");

        await Eventually.TrueAsync(async () => await ReadAndSettledAsync() == (501, 0, 0), "the job after the backlog to be acked");
    }

    /// <summary>The group's entries read, lag and pending count, from one <c>XINFO GROUPS</c>.</summary>
    private async Task<(long Read, long Lag, long Pending)> ReadAndSettledAsync()
    {
        var group = (await Db.StreamGroupInfoAsync(Stream)).Single(g => g.Name == "workers");
        return (group.EntriesRead ?? -1, group.Lag ?? -1, group.PendingMessageCount);
    }

    [Test]
    public async Task Run_JobsEnqueuedBeforeAnyWorkerRan_AreProcessed()
    {
        var early = await EnqueueDirectAsync("{}");
        await using var host = await WorkerTestHost.StartAsync(Settings());

        await WaitForStatusAsync(early, "succeeded");
    }

    [Test]
    public async Task Run_JobSucceeds_PublishesJobSucceededAfterCommit()
    {
        var received = new ConcurrentQueue<string>();
        var subscriber = Infrastructure.Redis.GetSubscriber();
        var channel = RedisChannel.Literal($"{Stream}:events:succeeded");
        await subscriber.SubscribeAsync(channel, (_, message) => received.Enqueue(message!));
        try
        {
            await using var host = await WorkerTestHost.StartAsync(Settings());
            var jobId = await EnqueueAsync(host, "{}");

            var json = await Eventually.GetAsync(() => Task.FromResult(received.FirstOrDefault()), m => m is not null, "a job.succeeded event");
            using var doc = JsonDocument.Parse(json!);
            Assert.Multiple(() =>
            {
                Assert.That(doc.RootElement.GetProperty("type").GetString(), Is.EqualTo("job.succeeded"));
                Assert.That(doc.RootElement.GetProperty("data").GetProperty("job_id").GetString(), Is.EqualTo(jobId));
                Assert.That(doc.RootElement.GetProperty("data").GetProperty("job_type").GetString(), Is.EqualTo("noop"));
            });
            Assert.That(await StatusAsync(jobId), Is.EqualTo("succeeded"), "the event comes after the commit");
        }
        finally
        {
            await subscriber.UnsubscribeAsync(channel);
        }
    }

    [Test]
    public async Task Run_ConcurrencyNotSet_RunsThreeJobsAtOnce()
    {
        var probe = new ConcurrencyProbe();
        await using var host = await WorkerTestHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Worker:Jobs:probe:Stream"] = Stream,
                ["Worker:Jobs:probe:Concurrency"] = "0",
                ["Worker:Jobs:probe:PersistState"] = "false",
            },
            services => services.AddSingleton<IJobHandler>(probe));
        for (var i = 0; i < 12; i++)
        {
            await host.Queue.EnqueueAsync(ConcurrencyProbe.DefaultType, "{}");
        }

        await Eventually.TrueAsync(() => Task.FromResult(probe.Completed == 12), "12 probe jobs to finish");
        Assert.That(probe.MaxSeen, Is.EqualTo(JobTypeOptions.DefaultConcurrency));
    }

    /// <summary>
    /// An idle pickup starts its job on the reader's thread. A handler that computes before its first await would hold
    /// the reads up, so after three such starts in a row the consumer says so and starts pickups on other threads.
    /// </summary>
    [Test]
    public async Task Run_HandlerComputesBeforeItsFirstAwait_PickupsMoveOffTheReaderThreadAndJobsSucceed()
    {
        var sink = new RecordingSink();
        var handler = new ComputeFirstHandler();
        await using var host = await WorkerTestHost.StartAsync(
            new Dictionary<string, string?>
            {
                [$"Worker:Jobs:{ComputeFirstHandler.Type}:Stream"] = Stream,
                [$"Worker:Jobs:{ComputeFirstHandler.Type}:PersistState"] = "false",
                ["Serilog:MinimumLevel:Override:Worker.Streams.JobConsumer"] = "Debug",
            },
            services => services.AddSingleton<IJobHandler>(handler).AddSingleton<ILogEventSink>(sink));

        for (var i = 1; i <= 3; i++)
        {
            // One at a time, so each is an idle pickup.
            await host.Queue.EnqueueAsync(ComputeFirstHandler.Type, "{}");
            var done = i;
            await Eventually.TrueAsync(() => Task.FromResult(handler.Completed == done), $"job {done} to finish");
        }

        await Eventually.TrueAsync(() => Task.FromResult(sink.WithEventId(1014).Any()), "the consumer to move pickups off the reader's thread");
        Assert.That(sink.WithEventId(1014).First().RenderMessage(), Does.Contain("3 \"compute_first\" pickups in a row"));
        await Eventually.TrueAsync(async () => await PendingAsync() == 0, "every job acked");
    }

    [Test]
    public async Task Run_Resp2Connection_ParsesBlockingReadReplies()
    {
        // StackExchange.Redis 3 speaks RESP3 by default (every other test); RESP2 replies have another shape.
        await using var host = await WorkerTestHost.StartAsync(
            Settings(("ConnectionStrings:Redis", TestEnvironment.Redis + ",protocol=resp2")));
        var jobId = await EnqueueAsync(host, "{\"effect\":true}");

        await WaitForStatusAsync(jobId, "succeeded");
        Assert.That(await EffectsAsync(jobId), Is.EqualTo(1));
    }

    [Test]
    public async Task Run_HandlerReportsProgress_ProgressIsStored()
    {
        var handler = new ProgressHandler();
        await using var host = await WorkerTestHost.StartAsync(
            new Dictionary<string, string?> { ["Worker:Jobs:progress:Stream"] = Stream },
            services => services.AddSingleton<IJobHandler>(handler));
        var jobId = await host.Queue.EnqueueAsync(ProgressHandler.Type, "{}", NewJobId());

        await Eventually.TrueAsync(
            async () => await Infrastructure.ScalarAsync<string?>("SELECT status FROM jobs WHERE type = 'progress' AND id = $1", jobId) == "succeeded",
            "the progress job to succeed");
        var message = await Infrastructure.ScalarAsync<string?>(
            "SELECT progress_current || '/' || progress_total || ' ' || progress_message FROM jobs WHERE type = 'progress' AND id = $1", jobId);
        Assert.That(message, Is.EqualTo("2/2 done"));
    }

    /// <summary>Works for 5 ms on the thread it starts on before its first await, as a CPU-bound handler would.</summary>
    private sealed class ComputeFirstHandler : IJobHandler
    {
        public const string Type = "compute_first";
        private int _completed;

        public string JobType => Type;

        public int Completed => Volatile.Read(ref _completed);

        public async Task HandleAsync(JobContext context, CancellationToken cancellationToken)
        {
            var work = System.Diagnostics.Stopwatch.StartNew();
            while (work.Elapsed < TimeSpan.FromMilliseconds(5))
            {
                Thread.SpinWait(100);
            }

            await Task.Yield();
            Interlocked.Increment(ref _completed);
        }
    }

    private sealed class ProgressHandler : IJobHandler
    {
        public const string Type = "progress";

        public string JobType => Type;

        public async Task HandleAsync(JobContext context, CancellationToken cancellationToken)
        {
            await context.ReportProgressAsync(1, 2, "half", cancellationToken);
            await context.ReportProgressAsync(2, 2, "done", cancellationToken);
        }
    }
}
