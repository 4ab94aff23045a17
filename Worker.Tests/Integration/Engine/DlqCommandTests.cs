using StackExchange.Redis;
using Worker.Hosting;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

[TestFixture]
public sealed class DlqCommandTests : EngineTestBase
{
    /// <summary>Dead-letters a job that could succeed: it is over its delivery limit, as after crashing workers.</summary>
    private async Task<string> DeadLetterAsync(string payload)
    {
        var jobId = await EnqueueDirectAsync(payload);
        var read = await ReadAsGhostAsync("crashed", 1);
        await Db.ExecuteAsync("XCLAIM", (RedisKey)Stream, "workers", "crashed", 0, read[0].Id, "RETRYCOUNT", 9);
        await Db.HashSetAsync(Stream + ":starts", read[0].Id, 9);
        return jobId;
    }

    private async Task<WorkerProcess> RunVerbAsync(params string[] args)
    {
        var process = WorkerProcess.Start(Settings(), args);
        Assert.That(await process.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(ExitCodes.Ok), process.StandardError);
        return process;
    }

    [Test]
    public async Task Replay_DeadLetteredJob_MovesBackKeepsItsIdAndSucceeds()
    {
        var settings = Settings(("Worker:Jobs:noop:VisibilityTimeout", "00:00:00.300"), ("Worker:Jobs:noop:ClaimInterval", "00:00:00.100"));
        var jobId = await DeadLetterAsync("""{"effect":true}""");
        // Without job state the starts recorded in Redis decide: the entry is dead-lettered as a suspected poison.
        var stateless = new Dictionary<string, string?>(settings) { ["Worker:Jobs:noop:PersistState"] = "false" };
        await using (var host = await WorkerTestHost.StartAsync(stateless))
        {
            await WaitForDeadLettersAsync(1);
        }

        using (var dry = await RunVerbAsync("dlq", "replay", "--dry-run", "--error", "delivery_limit"))
        {
            Assert.That(dry.StandardOutput, Does.Contain("would replay 1"));
        }

        Assert.That(await DeadLettersAsync(), Has.Length.EqualTo(1), "a dry run moves nothing");
        using (var replay = await RunVerbAsync("dlq", "replay", "--error", "delivery_limit", "--rate", "50"))
        {
            Assert.That(replay.StandardOutput, Does.Contain("replayed 1 of 1"));
        }

        Assert.That(await DeadLettersAsync(), Is.Empty);
        await using var worker = await WorkerTestHost.StartAsync(settings);
        await WaitForStatusAsync(jobId, "succeeded");
        Assert.That(await EffectsAsync(jobId), Is.EqualTo(1));
    }

    [Test]
    public async Task Purge_ErrorFilter_DeletesOnlyMatchingDeadLetters()
    {
        await using (var host = await WorkerTestHost.StartAsync(Settings()))
        {
            await EnqueueAsync(host, """{"fail":"permanent"}""");
            await AddRawAsync(("type", "noop"), ("payload", "{broken"));
            await WaitForDeadLettersAsync(2);
        }

        using var purge = await RunVerbAsync("dlq", "purge", "--error", "malformed_payload");

        Assert.That(purge.StandardOutput, Does.Contain("deleted 1"));
        var left = await DeadLettersAsync();
        Assert.That(left.Select(l => Field(l, "error_type")), Is.EqualTo(new[] { "noop_permanent" }));
    }
}
