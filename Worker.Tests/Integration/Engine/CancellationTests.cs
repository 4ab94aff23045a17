using System.Collections.Concurrent;
using StackExchange.Redis;
using Worker.Hosting;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>
/// <c>cancel</c> and <c>JobQueue.CancelAsync</c>: a waiting job never runs, a running one is stopped on whichever
/// replica runs it, and both end <c>cancelled</c>, neither retried nor dead-lettered; a finished job is left alone.
/// </summary>
[TestFixture]
public sealed class CancellationTests : EngineTestBase
{
    private const string LongJob = """{"delay_ms":60000,"effect":true}""";

    [Test]
    public async Task Cancel_FromAnotherProcess_RunningJobStopsAndWaitingOneNeverRuns()
    {
        // One slot, busy with a long job: the second job waits. The cancels come from a host that runs no jobs (another
        // connection, as the cancel verb's process is), so they reach the worker only through Redis.
        await using var worker = await WorkerTestHost.StartAsync(
            Settings(("Worker:Jobs:noop:Concurrency", "1"), ("Worker:Jobs:noop:RecordRunningAfter", "00:00:00")));
        await using var canceller = await WorkerTestHost.StartAsync(Settings(("Worker:Jobs:noop:Enabled", "false")));
        var events = await SubscribeAsync($"{Stream}:events:cancelled");
        var running = await EnqueueAsync(worker, LongJob);
        await WaitForStatusAsync(running, "running");
        var waiting = await EnqueueAsync(worker, """{"effect":true}""");

        var waitingResult = await canceller.Queue.CancelAsync("noop", waiting);
        var runningResult = await canceller.Queue.CancelAsync("noop", running);

        Assert.That((waitingResult.Cancelled, runningResult.Cancelled), Is.EqualTo((true, true)));
        await Eventually.TrueAsync(() => Task.FromResult(events.Count >= 2), "job.cancelled for both jobs");
        await Eventually.TrueAsync(async () => await PendingAsync() == 0, "both entries acked");
        Assert.Multiple(async () =>
        {
            Assert.That(await StatusAsync(running), Is.EqualTo("cancelled"));
            Assert.That(await StatusAsync(waiting), Is.EqualTo("cancelled"));
            Assert.That(await EffectsAsync(waiting), Is.Zero, "the waiting job never ran");
            Assert.That(await EffectsAsync(running), Is.Zero, "stopped before its effects");
            Assert.That(await AttemptsAsync(running), Is.EqualTo(1), "not retried");
            Assert.That(await DeadLettersAsync(), Is.Empty, "not dead-lettered");
            Assert.That(await Db.SortedSetLengthAsync(Stream + ":delayed"), Is.Zero, "no retry scheduled");
            Assert.That(events.Count(e => e.Contains(running, StringComparison.Ordinal)), Is.EqualTo(1));
            Assert.That(events.Count(e => e.Contains(waiting, StringComparison.Ordinal)), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Cancel_SucceededJob_SaysSoAndChangesNothing()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings());
        var jobId = await EnqueueAsync(host, """{"effect":true}""");
        await WaitForStatusAsync(jobId, "succeeded");

        var result = await host.Queue.CancelAsync("noop", jobId);

        Assert.Multiple(async () =>
        {
            Assert.That(result.Cancelled, Is.False);
            Assert.That(result.Status, Is.EqualTo("succeeded"));
            Assert.That(await StatusAsync(jobId), Is.EqualTo("succeeded"));
            Assert.That(await Db.SortedSetLengthAsync(Stream + ":cancelled"), Is.Zero, "no cancel recorded");
        });
    }

    [Test]
    public async Task Cancel_BeforeTheJobIsEnqueued_ItNeverRunsEvenOnAReplicaStartedLater()
    {
        var jobId = NewJobId();
        // A producer's cancel can come first (a job id is known before it is sent): the row and the mark wait for it.
        await using (var canceller = await WorkerTestHost.StartAsync(Settings(("Worker:Jobs:noop:Enabled", "false"))))
        {
            Assert.That((await canceller.Queue.CancelAsync("noop", jobId)).Cancelled, Is.True);
        }

        await EnqueueDirectAsync("""{"effect":true}""", jobId);
        await using var host = await WorkerTestHost.StartAsync(Settings());

        await Eventually.TrueAsync(async () => await PendingAsync() == 0 && await Db.StreamLengthAsync(Stream) == 1, "the entry read and acked");
        Assert.Multiple(async () =>
        {
            Assert.That(await StatusAsync(jobId), Is.EqualTo("cancelled"));
            Assert.That(await EffectsAsync(jobId), Is.Zero);
        });
    }

    [Test]
    public async Task Cancel_WithoutJobState_WaitingJobAckedUnrunAndAnnounced()
    {
        var settings = Settings(("Worker:Jobs:noop:PersistState", "false"), ("Worker:Jobs:noop:Concurrency", "1"));
        await using var host = await WorkerTestHost.StartAsync(settings);
        var events = await SubscribeAsync($"{Stream}:events:cancelled");
        var succeeded = await SubscribeAsync($"{Stream}:events:succeeded");
        var blocker = await EnqueueAsync(host, """{"delay_ms":60000}""");
        await Eventually.TrueAsync(async () => await PendingAsync() == 1, "the blocker running");
        var waiting = await EnqueueAsync(host, "{}");

        var result = await host.Queue.CancelAsync("noop", waiting);
        await host.Queue.CancelAsync("noop", blocker);

        Assert.That((result.Cancelled, result.Status), Is.EqualTo((true, (string?)null)));
        await Eventually.TrueAsync(() => Task.FromResult(events.Count == 2), "job.cancelled for both");
        await Eventually.TrueAsync(async () => await PendingAsync() == 0, "both acked");
        Assert.That(succeeded, Is.Empty, "neither succeeded");
    }

    [Test]
    public async Task CancelVerb_WaitingJob_CancelledThenFinishedJobExitsFour()
    {
        var jobId = NewJobId();
        using (var cancel = WorkerProcess.Start(Settings(), "cancel", "noop", jobId))
        {
            Assert.That(await cancel.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(ExitCodes.Ok), cancel.StandardError);
            Assert.That(cancel.StandardOutput, Does.Contain($"cancelled {jobId}"));
        }

        using var again = WorkerProcess.Start(Settings(), "cancel", "noop", jobId);
        Assert.That(await again.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(ExitCodes.Ok), "cancelling a cancelled job again is no error");

        var done = NewJobId();
        await Infrastructure.ExecuteAsync(
            "INSERT INTO jobs (type, id, status, attempts, created_at, updated_at) VALUES ('noop', $1, 'succeeded', 1, now(), now())", done);
        using var finished = WorkerProcess.Start(Settings(), "cancel", "noop", done);
        Assert.That(await finished.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(ExitCodes.AlreadyFinished));
        Assert.That(finished.StandardOutput, Does.Contain("already finished (succeeded)"));
    }

    [TestCase("--force")]
    [TestCase(null)]
    public async Task CancelVerb_BadCommandLine_ExitsWithUsage(string? extra)
    {
        string[] args = extra is null ? ["cancel", "noop"] : ["cancel", "noop", "job", extra];
        using var cancel = WorkerProcess.Start(Settings(), args);

        Assert.That(await cancel.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(ExitCodes.Usage));
        Assert.That(cancel.StandardError, Does.Contain("cancel: ").And.Contain(extra ?? "'job-id' missing"));
    }

    private static async Task<ConcurrentQueue<string>> SubscribeAsync(string channel)
    {
        var received = new ConcurrentQueue<string>();
        await Infrastructure.Redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(channel), (_, message) => received.Enqueue(message!));
        return received;
    }
}
