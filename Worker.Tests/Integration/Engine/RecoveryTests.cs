using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using StackExchange.Redis;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

[TestFixture]
public sealed class RecoveryTests : EngineTestBase
{
    private (string, string)[] FastRecovery => [
        ("Worker:Jobs:noop:VisibilityTimeout", "00:00:01"),
        ("Worker:Jobs:noop:ClaimInterval", "00:00:00.200"),
        // These tests wait for a job's row to say running: from its start, not after a second of it.
        ("Worker:Jobs:noop:RecordRunningAfter", "00:00:00"),
    ];

    [Test]
    public async Task Run_WorkerKilledMidJob_AnotherFinishesItWithOneEffect()
    {
        var settings = Settings(FastRecovery);
        var jobId = NewJobId();
        using (var doomed = WorkerProcess.Start(settings, "run"))
        {
            await EnqueueDirectAsync("""{"delay_ms":3000,"effect":true}""", jobId);
            await WaitForStatusAsync(jobId, "running", TimeSpan.FromSeconds(30));
            doomed.KillHard();
        }

        Assert.That(await PendingAsync(), Is.EqualTo(1), "the killed worker's entry is left pending, not lost");
        await using var survivor = await WorkerTestHost.StartAsync(settings);

        await WaitForStatusAsync(jobId, "succeeded");
        await Eventually.TrueAsync(async () => await PendingAsync() == 0, "the reclaimed entry acked");
        Assert.Multiple(async () =>
        {
            Assert.That(await EffectsAsync(jobId), Is.EqualTo(1));
            Assert.That(await AttemptsAsync(jobId), Is.EqualTo(2), "one execution each: the killed one and the survivor's");
        });
    }

    [Test]
    public async Task Run_WorkerPausedPastTheVisibilityTimeout_PeerRunsTheJobAndItsEffectHappensOnce()
    {
        var settings = Settings(FastRecovery);
        var jobId = NewJobId();
        using var paused = WorkerProcess.Start(settings, "run");
        await EnqueueDirectAsync("""{"delay_ms":2500,"effect":true}""", jobId);
        await WaitForStatusAsync(jobId, "running", TimeSpan.FromSeconds(30));

        paused.Signal("STOP");
        try
        {
            await using var peer = await WorkerTestHost.StartAsync(settings);
            await Eventually.TrueAsync(async () => await AttemptsAsync(jobId) >= 2, "the peer to reclaim the frozen worker's job");
            paused.Signal("CONT");
            await WaitForStatusAsync(jobId, "succeeded");
            await Eventually.TrueAsync(async () => await PendingAsync() == 0, "the entry acked");
        }
        finally
        {
            paused.Signal("CONT");
        }

        Assert.That(await EffectsAsync(jobId), Is.EqualTo(1), "two executions, one effect");
        Assert.That(paused.HasExited, Is.False, "the resumed worker carries on");
    }

    [Test]
    public async Task Run_DeliveredAgainAfterItsEffectsCommitted_AcksWithoutSecondEffect()
    {
        // A worker committed the effects, then died before its ack: the entry is pending although the job is done.
        await using (var first = await WorkerTestHost.StartAsync(Settings()))
        {
            var done = await EnqueueAsync(first, """{"effect":true}""");
            await WaitForStatusAsync(done, "succeeded");
        }

        var jobId = await EnqueueDirectAsync("""{"effect":true}""");
        await using (var second = await WorkerTestHost.StartAsync(Settings()))
        {
            await WaitForStatusAsync(jobId, "succeeded");
        }

        await Db.ExecuteAsync("XADD", (RedisKey)Stream, "*", "type", "noop", "payload", """{"effect":true}""", "job_id", jobId);
        await ReadAsGhostAsync("died-before-ack");
        await using var survivor = await WorkerTestHost.StartAsync(Settings(FastRecovery));

        await Eventually.TrueAsync(async () => await PendingAsync() == 0, "the duplicate reclaimed and acked");
        Assert.That(await EffectsAsync(jobId), Is.EqualTo(1));
    }

    [Test]
    public async Task Run_LongJobWhileItsWorkerLives_IsNotStolenByAPeer()
    {
        var settings = Settings(FastRecovery);
        await using var owner = await WorkerTestHost.StartAsync(settings);
        var jobId = await EnqueueAsync(owner, """{"delay_ms":3500,"effect":true}""");
        await WaitForStatusAsync(jobId, "running");
        await using var peer = await WorkerTestHost.StartAsync(settings);

        await WaitForStatusAsync(jobId, "succeeded");
        Assert.Multiple(async () =>
        {
            Assert.That(await AttemptsAsync(jobId), Is.EqualTo(1), "the heartbeat kept the entry from being reclaimed");
            Assert.That(await EffectsAsync(jobId), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Run_StreamDeletedWhileRunning_GroupRecreatedAndNewJobsProcessed()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings());
        var before = await EnqueueAsync(host, "{}");
        await WaitForStatusAsync(before, "succeeded");

        await Db.KeyDeleteAsync(Stream);
        var after = await EnqueueDirectAsync("{}");

        await WaitForStatusAsync(after, "succeeded");
        var groups = await Db.StreamGroupInfoAsync(Stream);
        Assert.That(groups.Select(g => g.Name), Is.EqualTo(new[] { "workers" }));
    }

    [Test]
    public async Task Run_StreamDeletedUnderAParkedRead_OneGroupWarningAndNoReadFailure()
    {
        var sink = new RecordingSink();
        await using var host = await WorkerTestHost.StartAsync(Settings(), services => services.AddSingleton<ILogEventSink>(sink));
        var before = await EnqueueAsync(host, "{}");
        await WaitForStatusAsync(before, "succeeded");
        var consumer = (string)(await Db.StreamConsumerInfoAsync(Stream, "workers")).Single().Name!;
        await Eventually.TrueAsync(() => ReaderParkedAsync(consumer), "this host's reader to park a blocking XREADGROUP");

        // Redis 7 ends the parked read with "UNBLOCKED the stream key no longer exists", not NOGROUP.
        await Db.KeyDeleteAsync(Stream);
        var after = await EnqueueDirectAsync("{}");

        await WaitForStatusAsync(after, "succeeded");
        Assert.Multiple(() =>
        {
            Assert.That(sink.WithEventId(1003), Has.Count.EqualTo(1), "one ConsumerGroupMissing warning");
            Assert.That(sink.WithEventId(1004), Is.Empty, "no StreamReadFailed warning");
        });
    }

    [Test]
    public async Task Run_GroupDestroyedWhileRunning_GroupRecreatedAndNewJobsProcessed()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings());
        var before = await EnqueueAsync(host, "{}");
        await WaitForStatusAsync(before, "succeeded");

        await Db.StreamDeleteConsumerGroupAsync(Stream, "workers");
        var after = await EnqueueDirectAsync("{}");

        await WaitForStatusAsync(after, "succeeded");
    }
}
