using StackExchange.Redis;
using Worker.Hosting;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>
/// Jobs that must not start before their <c>run_at</c>. Nothing here waits for a time to pass: a job due in an hour
/// is seen parked in the delayed set, then its score is moved to now, as the clock would.
/// </summary>
[TestFixture]
public sealed class DelayedJobTests : EngineTestBase
{
    private string Delayed => Stream + ":delayed";

    [Test]
    public async Task Run_JobDueInAnHour_ParkedInTheDelayedSetWithoutRunningThenRunsOnceDue()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings());
        var jobId = await host.Queue.EnqueueAsync("noop", """{"effect":true}""", NewJobId(), runAt: DateTimeOffset.UtcNow.AddHours(1));

        await Eventually.TrueAsync(async () => await Db.SortedSetLengthAsync(Delayed) == 1 && await PendingAsync() == 0, "the job parked in the delayed set");
        var parked = (await Db.SortedSetRangeByRankWithScoresAsync(Delayed)).Single();
        Assert.Multiple(async () =>
        {
            Assert.That(parked.Score, Is.GreaterThan(DateTimeOffset.UtcNow.AddMinutes(59).ToUnixTimeMilliseconds()), "due at its run_at");
            Assert.That(await StatusAsync(jobId), Is.Null, "not started: no row");
            Assert.That(await EffectsAsync(jobId), Is.Zero);
        });

        // The hour passes.
        await Db.SortedSetAddAsync(Delayed, parked.Element, DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds());

        await WaitForStatusAsync(jobId, "succeeded");
        Assert.Multiple(async () =>
        {
            Assert.That(await EffectsAsync(jobId), Is.EqualTo(1));
            Assert.That(await AttemptsAsync(jobId), Is.EqualTo(1), "waiting is not an attempt");
            Assert.That(await Db.SortedSetLengthAsync(Delayed), Is.Zero);
        });
    }

    [Test]
    public async Task Run_TwoDelayedCopiesOfOnePayloadWithoutIds_KeptApart()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings());
        var at = DateTimeOffset.UtcNow.AddHours(1);

        await host.Queue.EnqueueAsync("noop", "{}", runAt: at);
        await host.Queue.EnqueueAsync("noop", "{}", runAt: at);

        await Eventually.TrueAsync(async () => await Db.SortedSetLengthAsync(Delayed) == 2 && await PendingAsync() == 0, "two members, one per job");
    }

    [Test]
    public async Task Run_XaddWithRunAtPassed_RunsAtOnce()
    {
        var jobId = NewJobId();
        await Db.StreamAddAsync(Stream, [
            new NameValueEntry("type", "noop"), new NameValueEntry("payload", "{}"), new NameValueEntry("job_id", jobId),
            new NameValueEntry("run_at", DateTimeOffset.UtcNow.AddSeconds(-5).ToUnixTimeMilliseconds())]);

        await using var host = await WorkerTestHost.StartAsync(Settings());

        await WaitForStatusAsync(jobId, "succeeded");
        Assert.That(await Db.SortedSetLengthAsync(Delayed), Is.Zero);
    }

    [Test]
    public async Task Run_RunAtNotATime_DeadLetteredNamingTheField()
    {
        await AddRawAsync(("type", "noop"), ("payload", "{}"), ("run_at", "tomorrow"));

        await using var host = await WorkerTestHost.StartAsync(Settings());

        var letter = (await WaitForDeadLettersAsync(1)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(Field(letter, "error_type"), Is.EqualTo("malformed_entry"));
            Assert.That(Field(letter, "error_message"), Does.Contain("'run_at'"));
        });
    }

    [Test]
    public async Task EnqueueVerb_In_SetsRunAtThatFarAhead()
    {
        using var enqueue = WorkerProcess.Start(Settings(), "enqueue", "noop", "{}", "--in", "1h");

        Assert.That(await enqueue.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(ExitCodes.Ok), enqueue.StandardError);
        var runAt = long.Parse(Field((await Db.StreamRangeAsync(Stream)).Single(), "run_at")!);
        var now = DateTimeOffset.UtcNow;
        Assert.That(runAt, Is.InRange(now.AddMinutes(58).ToUnixTimeMilliseconds(), now.AddMinutes(61).ToUnixTimeMilliseconds()));
    }

    [TestCase("--in", "soon", "--in must be a duration")]
    [TestCase("--at", "tomorrow", "--at must be an ISO 8601 time")]
    public async Task EnqueueVerb_BadTime_UsageErrorNamingTheFlag(string flag, string value, string message)
    {
        using var enqueue = WorkerProcess.Start(Settings(), "enqueue", "noop", "{}", flag, value);

        Assert.That(await enqueue.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(ExitCodes.Usage));
        Assert.That(enqueue.StandardError, Does.Contain(message));
        Assert.That(await Db.StreamLengthAsync(Stream), Is.Zero);
    }
}
