using System.Text.Json;
using StackExchange.Redis;
using Worker.Hosting;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Cluster;

/// <summary>The admin verbs against a cluster: they read and move keys on whichever master serves the stream.</summary>
[TestFixture]
public sealed class ClusterVerbTests : ClusterTestBase
{
    /// <summary>One dead letter (over its delivery limit) and one entry pending under a dead consumer.</summary>
    private async Task<(string DeadJobId, string PendingId)> DeadLetterAndPendingAsync()
    {
        var deadJobId = NewJobId();
        await AddRawAsync("""{"effect":true}""", deadJobId);
        var read = await ReadAsGhostAsync("crashed", 1);
        await Db.ExecuteAsync("XCLAIM", (RedisKey)Stream, "workers", "crashed", 0, read[0].Id, "RETRYCOUNT", 9);
        // Its redeliveries started and never finished: without job state, the worker counts them in Redis.
        await Db.HashSetAsync(Stream + ":starts", read[0].Id, 9);
        var stateless = Settings(("Worker:Jobs:noop:PersistState", "false"), ("Worker:Jobs:noop:VisibilityTimeout", "00:00:00.300"),
            ("Worker:Jobs:noop:ClaimInterval", "00:00:00.100"));
        await using (var host = await WorkerTestHost.StartAsync(stateless))
        {
            await Eventually.GetAsync(DeadLettersAsync, d => d.Length == 1, "the entry over its limit dead-lettered");
        }

        await AddRawAsync("{}", NewJobId());
        var pending = await ReadAsGhostAsync("holder", 1);
        return (deadJobId, pending[0].Id!);
    }

    [Test]
    public async Task StatsPendingDlq_OnACluster_ReportTheStreamsMaster()
    {
        var (deadJobId, pendingId) = await DeadLetterAndPendingAsync();

        using var stats = await RunVerbAsync("stats", "--json", "--type", "noop");
        using var pending = await RunVerbAsync("pending", "--json", "--type", "noop");
        using var list = await RunVerbAsync("dlq", "list", "--json", "--type", "noop");

        var row = JsonDocument.Parse(stats.StandardOutput).RootElement.EnumerateArray().Single();
        Assert.Multiple(() =>
        {
            Assert.That(row.GetProperty("stream").GetString(), Is.EqualTo(Stream));
            Assert.That(row.GetProperty("dead_letters").GetInt64(), Is.EqualTo(1));
            Assert.That(row.GetProperty("pending").GetInt64(), Is.EqualTo(1));
            var entry = JsonDocument.Parse(pending.StandardOutput).RootElement.EnumerateArray().Single();
            Assert.That(entry.GetProperty("id").GetString(), Is.EqualTo(pendingId));
            Assert.That(entry.GetProperty("consumer").GetString(), Is.EqualTo("holder"));
            var letter = JsonDocument.Parse(list.StandardOutput).RootElement.EnumerateArray().Single();
            Assert.That(letter.GetRawText(), Does.Contain(deadJobId));
        });
    }

    [Test]
    public async Task DlqReplay_OnACluster_MovesTheJobBackAndItSucceeds()
    {
        var (deadJobId, _) = await DeadLetterAndPendingAsync();

        using (var replay = await RunVerbAsync("dlq", "replay", "--type", "noop", "--rate", "50"))
        {
            Assert.That(replay.StandardOutput, Does.Contain("replayed 1 of 1"));
        }

        Assert.That(await DeadLettersAsync(), Is.Empty);
        await using var host = await WorkerTestHost.StartAsync(Settings(
            ("Worker:Jobs:noop:VisibilityTimeout", "00:00:00.300"), ("Worker:Jobs:noop:ClaimInterval", "00:00:00.100")));
        await WaitForStatusAsync(deadJobId, "succeeded");
    }

    [Test]
    public async Task EnqueueFrom_FileOnACluster_EnqueuesEveryLineAndTheyRun()
    {
        var ids = Enumerable.Range(0, 1200).Select(_ => NewJobId()).ToList();
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllLinesAsync(file, ids.Select(id => $$"""{"id":"{{id}}","effect":true}"""));
            using (var enqueue = await RunVerbAsync("enqueue", "noop", "--from", file, "--job-id-field", "id"))
            {
                Assert.That(enqueue.StandardOutput, Does.Contain("enqueued 1200 of 1200 noop jobs"));
            }

            Assert.That(await Db.StreamLengthAsync(Stream), Is.EqualTo(1200));
            await using var host = await WorkerTestHost.StartAsync(Settings(("Worker:Jobs:noop:Concurrency", "16")));
            await Eventually.TrueAsync(async () => await SucceededAsync(ids) == 1200, "1200 succeeded jobs", TimeSpan.FromSeconds(60));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
