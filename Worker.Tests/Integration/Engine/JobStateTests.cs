using Microsoft.Extensions.DependencyInjection;
using Worker.Jobs;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>
/// The <c>jobs</c> row of a first execution: one write for a job that finishes before <c>RecordRunningAfter</c>, a
/// begin row once it runs longer, and no second run of a job id that already succeeded.
/// </summary>
[TestFixture]
public sealed class JobStateTests : EngineTestBase
{
    private const string Type = GatedHandler.Type;

    private static Task<string?> GatedStatusAsync(string jobId) =>
        Infrastructure.ScalarAsync<string?>("SELECT status FROM jobs WHERE type = $1 AND id = $2", Type, jobId);

    private static Task<int> GatedAttemptsAsync(string jobId) =>
        Infrastructure.ScalarAsync<int>("SELECT attempts FROM jobs WHERE type = $1 AND id = $2", Type, jobId);

    private Task<WorkerTestHost> StartAsync(GatedHandler handler, string recordRunningAfter) =>
        WorkerTestHost.StartAsync(
            new Dictionary<string, string?>
            {
                [$"Worker:Jobs:{Type}:Stream"] = Stream,
                [$"Worker:Jobs:{Type}:RecordRunningAfter"] = recordRunningAfter,
                ["Worker:Jobs:link-metadata:Enabled"] = "false",
                ["Worker:Http:Port"] = "0",
            },
            services => services.AddSingleton<IJobHandler>(handler));

    [Test]
    public async Task Run_JobFinishesBeforeRecordRunningAfter_OneSucceededRowWithOneAttempt()
    {
        var handler = new GatedHandler(open: true);
        await using var host = await StartAsync(handler, "00:01:00");
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add(await host.Queue.EnqueueAsync(Type, "{}", i % 2 == 0 ? NewJobId() : null));
        }

        await Eventually.TrueAsync(async () => await PendingAsync() == 0 && handler.Runs == 20, "20 jobs run and acked");
        var rows = await Infrastructure.ScalarAsync<long>(
            "SELECT count(*) FROM jobs WHERE type = $1 AND status = 'succeeded' AND attempts = 1 AND finished_at IS NOT NULL", Type);
        Assert.That(rows, Is.EqualTo(20), "every job one succeeded row, its one attempt counted");
    }

    [Test]
    public async Task Run_JobRunsLongerThanRecordRunningAfter_RowSaysRunningUntilItSucceeds()
    {
        var handler = new GatedHandler(open: false);
        await using var host = await StartAsync(handler, "00:00:00.100");
        var jobId = await host.Queue.EnqueueAsync(Type, "{}", NewJobId());

        // The handler waits for the gate: the row can only say running because the begin was written while it ran.
        Assert.That(await Eventually.GetAsync(() => GatedStatusAsync(jobId), s => s == "running", "the begin row"), Is.EqualTo("running"));
        Assert.That(handler.Runs, Is.Zero, "still running");
        handler.Open();

        await Eventually.TrueAsync(async () => await GatedStatusAsync(jobId) == "succeeded" && await PendingAsync() == 0, "the job to succeed and be acked");
        Assert.That(await GatedAttemptsAsync(jobId), Is.EqualTo(1), "the begin counted the attempt; the success did not count it again");
    }

    [Test]
    public async Task Run_JobIdThatAlreadyFinishedEnqueuedAgain_AckedWithoutRunning()
    {
        var handler = new GatedHandler(open: true);
        await using var host = await StartAsync(handler, "00:01:00");
        var jobId = await host.Queue.EnqueueAsync(Type, "{}", NewJobId());
        await Eventually.TrueAsync(async () => await GatedStatusAsync(jobId) == "succeeded" && await PendingAsync() == 0, "the first copy to succeed");

        await host.Queue.EnqueueAsync(Type, "{}", jobId);

        await Eventually.TrueAsync(
            async () => (await Db.StreamGroupInfoAsync(Stream)).Single(g => g.Name == "workers") is { EntriesRead: 2, PendingMessageCount: 0 },
            "the second copy read and acked");
        Assert.Multiple(async () =>
        {
            Assert.That(handler.Runs, Is.EqualTo(1), "the second copy never ran");
            Assert.That(await GatedAttemptsAsync(jobId), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Run_FirstAttemptFailsForLater_RowFailedWithTheAttemptThenSucceededWithTwo()
    {
        var handler = new GatedHandler(open: true) { FailFirst = true };
        await using var host = await WorkerTestHost.StartAsync(
            new Dictionary<string, string?>
            {
                [$"Worker:Jobs:{Type}:Stream"] = Stream,
                [$"Worker:Jobs:{Type}:Retry:BaseDelay"] = "00:00:00.500",
                [$"Worker:Jobs:{Type}:Retry:InlineThreshold"] = "00:00:00",
                ["Worker:Jobs:link-metadata:Enabled"] = "false",
                ["Worker:Http:Port"] = "0",
            },
            services => services.AddSingleton<IJobHandler>(handler));
        var jobId = await host.Queue.EnqueueAsync(Type, "{}", NewJobId());

        await Eventually.TrueAsync(async () => await GatedStatusAsync(jobId) == "succeeded", "the retry to succeed");
        Assert.Multiple(async () =>
        {
            Assert.That(handler.Runs, Is.EqualTo(2));
            Assert.That(await GatedAttemptsAsync(jobId), Is.EqualTo(2), "the failed first attempt was counted before its failure was written");
        });
    }

    /// <summary>Runs when its gate is open; counts the runs that finished. Optionally fails its first run for later.</summary>
    private sealed class GatedHandler(bool open) : IJobHandler
    {
        public const string Type = "gated";
        private readonly TaskCompletionSource _gate = NewGate(open);
        private int _runs;
        private int _started;

        public string JobType => Type;

        public bool FailFirst { get; init; }

        public int Runs => Volatile.Read(ref _runs);

        public void Open() => _gate.TrySetResult();

        public async Task HandleAsync(JobContext context, CancellationToken cancellationToken)
        {
            var start = Interlocked.Increment(ref _started);
            await _gate.Task.WaitAsync(cancellationToken);
            Interlocked.Increment(ref _runs);
            if (FailFirst && start == 1)
            {
                throw new TransientJobException("gated_first", "the first run fails for later");
            }
        }

        private static TaskCompletionSource NewGate(bool open)
        {
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (open)
            {
                gate.TrySetResult();
            }

            return gate;
        }
    }
}
