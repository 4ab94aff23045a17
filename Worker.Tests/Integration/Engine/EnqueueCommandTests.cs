using Worker.Hosting;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>The <c>enqueue</c> verb as a process: bulk input, what it reports, its exit codes.</summary>
[TestFixture]
public sealed class EnqueueCommandTests : EngineTestBase
{
    private static readonly TimeSpan ExitLimit = TimeSpan.FromSeconds(60);

    [Test]
    public async Task EnqueueFrom_StandardInput_EnqueuesEveryLineWithItsJobId()
    {
        var ids = new[] { NewJobId(), NewJobId(), NewJobId() };
        var input = string.Join('\n', ids.Select((id, i) => $$"""{"order":"{{id}}","n":{{i}}}""")) + "\n\n";

        using var enqueue = WorkerProcess.StartWithInput(Settings(), input, "enqueue", "noop", "--from", "-", "--job-id-field", "order", "--batch-size", "2");

        Assert.That(await enqueue.WaitForExitAsync(ExitLimit), Is.EqualTo(ExitCodes.Ok), enqueue.StandardError);
        Assert.That(enqueue.StandardOutput, Does.Contain("enqueued 3 of 3 noop jobs"));
        var entries = await Db.StreamRangeAsync(Stream);
        Assert.That(entries.Select(e => Field(e, "job_id")), Is.EqualTo(ids));
    }

    [Test]
    public async Task EnqueueFrom_LineNotJson_EnqueuesTheRestAndExitsNonZeroNamingTheLine()
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllLinesAsync(file, ["{}", "{broken", """{"n":3}"""]);

            using var enqueue = WorkerProcess.Start(Settings(), "enqueue", "noop", "--from", file);

            Assert.That(await enqueue.WaitForExitAsync(ExitLimit), Is.EqualTo(ExitCodes.Failure), enqueue.StandardError);
            Assert.That(enqueue.StandardOutput, Does.Contain("enqueued 2 of 3 noop jobs"));
            Assert.That(enqueue.StandardError, Does.Contain("line 2: not JSON").And.Contain("1 failed").And.Contain("2 went in"));
            Assert.That(await Db.StreamLengthAsync(Stream), Is.EqualTo(2));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public async Task EnqueueFrom_QueueFillsUp_ExitsQueueFullSayingHowManyWentIn()
    {
        var settings = Settings(("Worker:Jobs:noop:MaxBacklog", "2"));

        using var enqueue = WorkerProcess.StartWithInput(settings, "{}\n{}\n{}\n{}\n{}\n", "enqueue", "noop", "--from", "-", "--batch-size", "2");

        Assert.That(await enqueue.WaitForExitAsync(ExitLimit), Is.EqualTo(ExitCodes.QueueFull), enqueue.StandardError);
        Assert.That(enqueue.StandardOutput, Does.Contain("enqueued 2 of 5 noop jobs"));
        Assert.That(enqueue.StandardError, Does.Contain("3 failed").And.Contain("2 went in"));
        Assert.That(await Db.StreamLengthAsync(Stream), Is.EqualTo(2));
    }

    [TestCase("--bogus", "x")]
    [TestCase("--from")]
    public async Task Enqueue_UnknownOrIncompleteOption_ExitsUsageNamingIt(params string[] option)
    {
        using var enqueue = WorkerProcess.Start(Settings(), ["enqueue", "noop", .. option]);

        Assert.That(await enqueue.WaitForExitAsync(ExitLimit), Is.EqualTo(ExitCodes.Usage));
        Assert.That(enqueue.StandardError, Does.Contain("enqueue: ").And.Contain($"'{option[0]}'"));
    }
}
