using StackExchange.Redis;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

[TestFixture]
public sealed class FailureTests : EngineTestBase
{
    /// <summary>Delays long enough to go through the Redis schedule (above the inline threshold), short enough for a test.</summary>
    private (string, string)[] ScheduledRetries => [
        ("Worker:Jobs:noop:Retry:BaseDelay", "00:00:00.300"),
        ("Worker:Jobs:noop:Retry:InlineThreshold", "00:00:00.100"),
        ("Worker:Jobs:noop:Retry:Jitter", "false"),
    ];

    [Test]
    public async Task Run_TransientFailureEveryTime_RetriedThroughScheduleThenDeadLetteredWithReason()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings(ScheduledRetries));
        var jobId = await EnqueueAsync(host, """{"fail":"transient"}""");

        var letter = (await WaitForDeadLettersAsync(1)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(Field(letter, "job_id"), Is.EqualTo(jobId));
            Assert.That(Field(letter, "error_type"), Is.EqualTo("attempts_exhausted"));
            Assert.That(Field(letter, "error_message"), Does.Contain("noop_transient"));
            Assert.That(Field(letter, "attempts"), Is.EqualTo("3"));
            Assert.That(Field(letter, "payload"), Is.EqualTo("""{"fail":"transient"}"""), "the original fields are kept");
            Assert.That(Field(letter, "consumer"), Is.Not.Empty);
            Assert.That(Field(letter, "original_id"), Is.Not.Empty);
            Assert.That(Field(letter, "failed_at"), Is.Not.Empty);
        });
        await WaitForStatusAsync(jobId, "dead_lettered");
        Assert.That(await AttemptsAsync(jobId), Is.EqualTo(3));
        await Eventually.TrueAsync(async () => await PendingAsync() == 0, "nothing left pending");
        Assert.That(await Db.SortedSetLengthAsync(Stream + ":delayed"), Is.Zero);
    }

    [Test]
    public async Task Run_ShortBackoff_RetriedInProcessThenDeadLettered()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings(
            ("Worker:Jobs:noop:Retry:BaseDelay", "00:00:00.010"),
            ("Worker:Jobs:noop:Retry:InlineThreshold", "00:00:01")));
        var jobId = await EnqueueAsync(host, """{"fail":"transient"}""");

        var letter = (await WaitForDeadLettersAsync(1)).Single();
        Assert.That(Field(letter, "attempts"), Is.EqualTo("3"));
        Assert.That(Field(letter, "error_type"), Is.EqualTo("attempts_exhausted"));
        Assert.That(await AttemptsAsync(jobId), Is.EqualTo(3), "every in-process attempt is counted");
        Assert.That(await Db.StreamLengthAsync(Stream), Is.EqualTo(1), "in-process retries add no entries");
    }

    [Test]
    public async Task Run_TransientFailureOnce_SucceedsOnSecondAttempt()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings(ScheduledRetries));
        var jobId = await EnqueueAsync(host, """{"fail":"transient","fail_attempts":1,"effect":true}""");

        await WaitForStatusAsync(jobId, "succeeded");
        Assert.Multiple(async () =>
        {
            Assert.That(await AttemptsAsync(jobId), Is.EqualTo(2));
            Assert.That(await EffectsAsync(jobId), Is.EqualTo(1));
            Assert.That(await DeadLettersAsync(), Is.Empty);
        });
    }

    [Test]
    public async Task Run_PermanentFailure_DeadLetteredAtOnce()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings());
        var jobId = await EnqueueAsync(host, """{"fail":"permanent"}""");

        var letter = (await WaitForDeadLettersAsync(1)).Single();
        Assert.That(Field(letter, "error_type"), Is.EqualTo("noop_permanent"));
        Assert.That(await AttemptsAsync(jobId), Is.EqualTo(1));
    }

    [Test]
    public async Task Run_MalformedEntries_DeadLetteredWithReasonsAndTheLoopGoesOn()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings());
        await AddRawAsync(("type", "noop"), ("payload", "{not json"));
        await AddRawAsync(("payload", "{}"));
        await AddRawAsync(("type", "noop"));
        await AddRawAsync(("type", "other"), ("payload", "{}"));
        await AddRawAsync(("type", "noop"), ("payload", "{}"), ("attempt", "zero"));
        await AddRawAsync(("type", "noop"), ("payload", """{"fail":"sometimes"}"""));
        await AddRawAsync(("type", "noop"), ("payload", new string('x', (1 << 20) + 1)));
        var good = await EnqueueAsync(host, "{}");

        var letters = await WaitForDeadLettersAsync(7);
        await WaitForStatusAsync(good, "succeeded");
        Assert.That(letters.Select(l => Field(l, "error_type")), Is.EquivalentTo(new[]
        {
            "malformed_payload", "malformed_entry", "malformed_entry", "unknown_type", "malformed_entry", "malformed_payload",
            "payload_too_large",
        }));
        Assert.That(letters.Select(l => Field(l, "error_message")), Has.All.Not.Empty);
        await Eventually.TrueAsync(async () => await PendingAsync() == 0, "nothing left pending");
    }

    [Test]
    public async Task Run_EntryDeliveredMoreThanTheLimitWithoutJobState_DeadLetteredAsPoison()
    {
        var jobId = await EnqueueDirectAsync("{}");
        var read = await ReadAsGhostAsync("crashed-consumer");
        // As if it had crashed its workers five times: Redis counts deliveries, RETRYCOUNT sets the count, and each
        // redelivery's start was recorded before its handler ran.
        await Db.ExecuteAsync("XCLAIM", (RedisKey)Stream, "workers", "crashed-consumer", 0, read[0].Id, "RETRYCOUNT", 5);
        await Db.HashSetAsync(Stream + ":starts", read[0].Id, 5);

        await using var host = await WorkerTestHost.StartAsync(Settings(
            ("Worker:Jobs:noop:MaxDeliveries", "5"),
            ("Worker:Jobs:noop:PersistState", "false"),
            ("Worker:Jobs:noop:VisibilityTimeout", "00:00:00.300")));

        var letter = (await WaitForDeadLettersAsync(1)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(Field(letter, "job_id"), Is.EqualTo(jobId));
            Assert.That(Field(letter, "error_type"), Is.EqualTo("delivery_limit_exceeded"));
            Assert.That(Field(letter, "error_message"), Does.Contain("delivered 6 times"));
        });
        await Eventually.TrueAsync(async () => await PendingAsync() == 0, "the poison entry acked");
    }

    [Test]
    public async Task Run_EntryRedeliveredOftenButNeverStarted_RunsInsteadOfBeingDeadLettered()
    {
        // Prefetched beside a job that kept killing its workers: reclaimed many times, never started. Job state
        // knows it never ran, so it is not taken for the poison.
        var jobId = await EnqueueDirectAsync("""{"effect":true}""");
        var read = await ReadAsGhostAsync("crashed-consumer");
        await Db.ExecuteAsync("XCLAIM", (RedisKey)Stream, "workers", "crashed-consumer", 0, read[0].Id, "RETRYCOUNT", 9);

        await using var host = await WorkerTestHost.StartAsync(Settings(
            ("Worker:Jobs:noop:MaxDeliveries", "3"),
            ("Worker:Jobs:noop:VisibilityTimeout", "00:00:00.300")));

        await WaitForStatusAsync(jobId, "succeeded");
        Assert.That(await EffectsAsync(jobId), Is.EqualTo(1));
        Assert.That(await DeadLettersAsync(), Is.Empty);
    }
}
