using StackExchange.Redis;
using Worker.Hosting;
using Worker.Jobs;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>Priority lanes: a high job waiting starts before the normal ones waiting ahead of it, whoever enqueued it.</summary>
[TestFixture]
public sealed class PriorityTests : EngineTestBase
{
    [Test]
    public async Task Run_OneSlotBusyAndManyNormalJobsWaiting_HighJobStartsNext()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings(
            ("Worker:Jobs:noop:Priorities", "true"), ("Worker:Jobs:noop:Concurrency", "1"), ("Worker:Jobs:noop:RecordRunningAfter", "00:00:00")));
        // The blocker holds the one slot until it is cancelled, so no clock decides what waits behind it.
        var blocker = await EnqueueAsync(host, """{"delay_ms":600000}""");
        await WaitForStatusAsync(blocker, "running");
        var normal = Enumerable.Range(0, 100).Select(_ => NewJobId()).ToArray();
        await host.Queue.EnqueueBatchAsync("noop", [.. normal.Select(id => new Worker.Streams.JobRequest("""{"delay_ms":5,"effect":true}""", id))]);
        var high = await host.Queue.EnqueueAsync("noop", """{"effect":true}""", NewJobId(), priority: JobPriority.High);
        // Read by its lane, waiting for the slot (it stays pending until it has run, which the blocker prevents).
        await Eventually.TrueAsync(async () => (await Db.StreamPendingAsync(Stream + ":high", "workers")).PendingMessageCount == 1, "the high job read");

        await host.Queue.CancelAsync("noop", blocker);

        await WaitForStatusAsync(high, "succeeded");
        // Each effect carries the time its handler applied it: the order the jobs ran in.
        var normalBefore = await Infrastructure.ScalarAsync<long>("""
            SELECT count(*) FROM noop_effects WHERE job_id <> $1
              AND applied_at < (SELECT applied_at FROM noop_effects WHERE job_id = $1)
              AND job_id = ANY($2)
            """, high, normal);
        Assert.That(normalBefore, Is.Zero, "the blocker's slot went to the high job");
        Assert.That(await Db.StreamLengthAsync(Stream + ":high"), Is.EqualTo(1), "the high job went to its lane");
    }

    [Test]
    public async Task Run_XaddToTheHighLaneWithoutJobId_RunsKnownByItsLane()
    {
        // Another language's producer: XADD to the lane. Entry ids are per stream, so the lane qualifies the job id.
        var entryId = await Db.StreamAddAsync(Stream + ":high", [new NameValueEntry("type", "noop"), new NameValueEntry("payload", "{}"), new NameValueEntry("priority", "high")]);

        await using var host = await WorkerTestHost.StartAsync(Settings(("Worker:Jobs:noop:Priorities", "true")));

        await WaitForStatusAsync($"{entryId}:high", "succeeded");
    }

    [Test]
    public async Task EnqueueVerb_PriorityWithoutLanes_UsageErrorNamingTheKey()
    {
        using var enqueue = WorkerProcess.Start(Settings(), "enqueue", "noop", "{}", "--priority", "high");

        Assert.That(await enqueue.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(ExitCodes.Usage));
        Assert.That(enqueue.StandardError, Does.Contain("set Worker:Jobs:noop:Priorities to true"));
        Assert.That(await Db.StreamLengthAsync(Stream), Is.Zero);
    }

    [Test]
    public async Task EnqueueVerb_PriorityLow_GoesToTheLowLaneWithItsField()
    {
        using var enqueue = WorkerProcess.Start(Settings(("Worker:Jobs:noop:Priorities", "true")), "enqueue", "noop", "{}", "--priority", "low");

        Assert.That(await enqueue.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(ExitCodes.Ok), enqueue.StandardError);
        var entry = (await Db.StreamRangeAsync(Stream + ":low")).Single();
        Assert.That(Field(entry, "priority"), Is.EqualTo("low"));
        Assert.That(await Db.StreamLengthAsync(Stream), Is.Zero);
    }

    [Test]
    public async Task EnqueueVerb_PriorityUnknown_UsageErrorNamingTheFlag()
    {
        using var enqueue = WorkerProcess.Start(Settings(("Worker:Jobs:noop:Priorities", "true")), "enqueue", "noop", "{}", "--priority", "urgent");

        Assert.That(await enqueue.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(ExitCodes.Usage));
        Assert.That(enqueue.StandardError, Does.Contain("--priority must be high, normal or low (was 'urgent')"));
    }
}
