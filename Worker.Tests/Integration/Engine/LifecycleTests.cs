using Worker.Hosting;
using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

[TestFixture]
public sealed class LifecycleTests : EngineTestBase
{
    [Test]
    public async Task StartStop_IdleWorker_StopsWellWithinTheBlockTime()
    {
        var host = await WorkerTestHost.StartAsync(Settings(("Worker:Jobs:noop:BlockTime", "00:00:10")));
        // Let the reader park its blocking read before stopping.
        await Eventually.TrueAsync(ReaderParkedAsync, "the reader to park a blocking XREADGROUP");

        var elapsed = await host.StopAsync();
        host.Host.Dispose();

        Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "CLIENT UNBLOCK ends the 10 s blocking read at once");
    }

    [Test]
    public async Task Stop_JobInFlight_FinishesItBeforeExiting()
    {
        // The row says running from the job's start, not after a second of it: the probe below waits for that.
        var host = await WorkerTestHost.StartAsync(Settings(("Worker:Jobs:noop:RecordRunningAfter", "00:00:00")));
        var jobId = await EnqueueAsync(host, """{"delay_ms":1500,"effect":true}""");
        await WaitForStatusAsync(jobId, "running");

        await host.StopAsync();
        host.Host.Dispose();

        Assert.Multiple(async () =>
        {
            Assert.That(await StatusAsync(jobId), Is.EqualTo("succeeded"));
            Assert.That(await EffectsAsync(jobId), Is.EqualTo(1));
            Assert.That(await PendingAsync(), Is.Zero, "acked before the process let go");
        });
    }

    [Test]
    public async Task Stop_JobLongerThanTheDrain_LeftPendingAndReleasedToAPeer()
    {
        var settings = Settings(
            ("Worker:DrainTimeout", "00:00:00.500"), ("Worker:Jobs:noop:ClaimInterval", "00:00:00.200"), ("Worker:Jobs:noop:RecordRunningAfter", "00:00:00"));
        var host = await WorkerTestHost.StartAsync(settings);
        var jobId = await EnqueueAsync(host, """{"delay_ms":2000,"effect":true}""");
        await WaitForStatusAsync(jobId, "running");

        await host.StopAsync();
        host.Host.Dispose();
        Assert.That(await PendingAsync(), Is.EqualTo(1), "unfinished work stays pending");
        Assert.That(await EffectsAsync(jobId), Is.Zero);

        // Visibility stays at its 15 s default: only the release lets the peer take the job this soon.
        await using var peer = await WorkerTestHost.StartAsync(settings);
        await WaitForStatusAsync(jobId, "succeeded", TimeSpan.FromSeconds(10));
        Assert.That(await EffectsAsync(jobId), Is.EqualTo(1));
    }

    [Test]
    public async Task Enqueue_BacklogAtTheMaximum_RefusedWithQueueFull()
    {
        var settings = Settings(("Worker:Jobs:noop:Enabled", "false"), ("Worker:Jobs:noop:MaxBacklog", "3"));
        await using var host = await WorkerTestHost.StartAsync(settings);
        for (var i = 0; i < 3; i++)
        {
            await EnqueueAsync(host, "{}");
        }

        var refused = await Assert.ThrowsAsync<QueueFullException>(() => EnqueueAsync(host, "{}"));
        Assert.That(refused!.Backlog, Is.EqualTo(3));
        Assert.That(await Db.StreamLengthAsync(Stream), Is.EqualTo(3));
    }

    [Test]
    public async Task Enqueue_AckedEntriesAwaitingTheTrim_DoNotCountTowardTheBacklog()
    {
        var settings = Settings(("Worker:Jobs:noop:MaxBacklog", "3"), ("Worker:Jobs:noop:TrimInterval", "00:00:00"));
        await using var host = await WorkerTestHost.StartAsync(settings);
        var done = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            done.Add(await EnqueueAsync(host, """{"effect":true}"""));
        }

        foreach (var jobId in done)
        {
            await WaitForStatusAsync(jobId, "succeeded");
        }

        await Eventually.TrueAsync(async () => await PendingAsync() == 0, "the three jobs to be acked");
        Assert.That(await Db.StreamLengthAsync(Stream), Is.EqualTo(3), "acked, not trimmed: the length alone would say full");

        var admitted = await EnqueueAsync(host, """{"effect":true}""");
        await WaitForStatusAsync(admitted, "succeeded");
        Assert.That(await Db.StreamLengthAsync(Stream), Is.EqualTo(4));
    }

    [Test]
    public async Task EnqueueVerb_BacklogFull_ExitsWithQueueFullCode()
    {
        var settings = Settings(("Worker:Jobs:noop:MaxBacklog", "1"));
        using (var ok = WorkerProcess.Start(settings, "enqueue", "noop", "{}"))
        {
            Assert.That(await ok.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(ExitCodes.Ok), ok.StandardError);
            Assert.That(ok.StandardOutput.Trim(), Does.Match(@"^\d+-\d+$"), "prints the job id");
        }

        using var full = WorkerProcess.Start(settings, "enqueue", "noop", "{}");
        Assert.That(await full.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(ExitCodes.QueueFull));
        Assert.That(full.StandardError, Does.Contain("queue full"));
    }

    [TestCase("Worker__Jobs__noop__BatchSize", "0", "Worker:Jobs:noop:BatchSize must be between 1 and")]
    [TestCase("Worker__Jobs__noop__HandlerTimeout", "soon", "Worker:Jobs:noop:HandlerTimeout cannot be read as TimeSpan")]
    [TestCase("Worker__Jobs__noop__Concurency", "8", "Worker:Jobs:noop:Concurency is not a known setting")]
    [TestCase("Worker__DrainTimeout", "later", "Worker:DrainTimeout cannot be read as TimeSpan")]
    [TestCase("Worker__Jobs__nosuch__Enabled", "true", "Worker:Jobs:nosuch: no handler is registered")]
    [TestCase("Worker__Jobs__noop__Retry__MaxAttempts", "0", "Worker:Jobs:noop:Retry:MaxAttempts must be at least 1")]
    [TestCase("ConnectionStrings__Redis", "", "ConnectionStrings:Redis is required")]
    public async Task Run_InvalidConfiguration_ExitsAtStartWithOneLineNamingTheKey(string variable, string value, string expected)
    {
        using var worker = WorkerProcess.Start(new Dictionary<string, string?> { [variable] = value }, "run");

        var code = await worker.WaitForExitAsync(TimeSpan.FromSeconds(60));

        var errorLines = worker.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(code, Is.EqualTo(ExitCodes.Configuration));
        Assert.That(errorLines, Has.Length.EqualTo(1));
        Assert.That(errorLines[0], Does.StartWith("configuration error: " + expected));
    }
}
