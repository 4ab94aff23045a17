using System.Text.Json;
using StackExchange.Redis;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>
/// What replicas that come and go leave behind, against a real Redis: entries abandoned by a dead consumer run
/// before new ones, whatever the backlog; holding an entry is not charged as a delivery; consumers that left the
/// group are removed, never one that holds entries.
/// </summary>
[TestFixture]
public sealed class ChurnTests : EngineTestBase
{
    private string Events => Stream + ":events";

    private (string, string)[] Fast => [
        ("Worker:Jobs:noop:VisibilityTimeout", "00:00:01"),
        ("Worker:Jobs:noop:ClaimInterval", "00:00:00.200"),
        ("Worker:Jobs:noop:BlockTime", "00:00:00.500"),
        ("Worker:Events:Stream", Events),
    ];

    [TearDown]
    public async Task DeleteEvents() => await Db.KeyDeleteAsync(Events);

    /// <summary>The job ids of <c>job.succeeded</c> events, in the order they were published.</summary>
    private async Task<List<string>> SucceededInOrderAsync() =>
        [.. (await Db.StreamRangeAsync(Events))
            .Where(e => Field(e, "type") == "job.succeeded")
            .Select(e => JsonDocument.Parse(Field(e, "data")!).RootElement.GetProperty("data").GetProperty("job_id").GetString()!)];

    private Task<List<string>> WaitForSucceededAsync(int count) =>
        Eventually.GetAsync(SucceededInOrderAsync, s => s.Count >= count, $"{count} job.succeeded events", TimeSpan.FromSeconds(60));

    private async Task WaitIdleAsync(string consumer, TimeSpan idle) =>
        await Eventually.TrueAsync(
            async () => (await Db.StreamPendingMessagesAsync(Stream, "workers", 1000, consumer)).All(p => p.IdleTimeInMilliseconds >= idle.TotalMilliseconds),
            $"the entries of {consumer} to be idle {idle.TotalSeconds} s");

    private async Task<List<string>> EnqueueManyAsync(int count, string payload)
    {
        var ids = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            ids.Add(await EnqueueDirectAsync(payload));
        }

        return ids;
    }

    [Test]
    public async Task Run_DeadConsumerHeldMoreThanTheCreditsAndABacklogWaits_EveryReclaimedEntryRunsFirst()
    {
        var held = await EnqueueManyAsync(12, """{"delay_ms":5}""");
        await ReadAsGhostAsync("ghost", 12);
        var backlog = await EnqueueManyAsync(30, """{"delay_ms":5}""");
        await WaitIdleAsync("ghost", TimeSpan.FromSeconds(1));

        // One slot and five credits: the twelve need three looks, all of them before the first read.
        await using var host = await WorkerTestHost.StartAsync(Settings([.. Fast,
            ("Worker:Jobs:noop:Concurrency", "1"), ("Worker:Jobs:noop:BatchSize", "4"), ("Worker:Jobs:noop:PersistState", "false")]));

        var order = await WaitForSucceededAsync(held.Count + backlog.Count);
        Assert.That(order.Take(held.Count), Is.EquivalentTo(held), "the dead consumer's entries ran before any new one");
        await Eventually.TrueAsync(async () => await PendingAsync() == 0, "every entry acked");
    }

    [Test]
    public async Task Run_ConsumerDiesWhileAPeerIsOverloaded_ItsEntriesRunTogetherAheadOfThePeersBacklog()
    {
        // The ghost takes the oldest entries; the worker starts on the backlog behind them before they are idle.
        var held = await EnqueueManyAsync(20, """{"delay_ms":10}""");
        await ReadAsGhostAsync("ghost", 20);
        var backlog = await EnqueueManyAsync(1000, """{"delay_ms":10}""");
        await using var host = await WorkerTestHost.StartAsync(Settings([.. Fast,
            ("Worker:Jobs:noop:Concurrency", "2"), ("Worker:Jobs:noop:PersistState", "false")]));

        var order = await WaitForSucceededAsync(held.Count + backlog.Count);
        var (first, last) = (order.FindIndex(held.Contains), order.FindLastIndex(held.Contains));
        Assert.Multiple(() =>
        {
            // Claimed in one look and queued ahead of every waiting entry: they finish one after another, with at
            // most the jobs already running beside them in between, not one freed slot at a time behind the backlog.
            Assert.That(last - first, Is.LessThan(held.Count + 4), $"the dead consumer's entries finished at {first}..{last} of {order.Count}");
            Assert.That(last, Is.LessThan(order.Count - 100), "they did not wait for the backlog to end");
        });
    }

    [Test]
    public async Task Stop_EntriesHeldButNeverStarted_ReleasedWithTheirDeliveryCountGivenBack()
    {
        var settings = Settings([.. Fast, ("Worker:Jobs:noop:Concurrency", "1"), ("Worker:Jobs:noop:BatchSize", "5"), ("Worker:DrainTimeout", "00:00:01")]);
        string consumer, running;
        await using (var host = await WorkerTestHost.StartAsync(settings))
        {
            // A fast job first: until a job has ended, a consumer holds one entry beyond its slots.
            await WaitForStatusAsync(await EnqueueAsync(host, "{}"), "succeeded");
            // Runs until the drain's hard stop cancels it: the probe below cannot race its end.
            running = await EnqueueAsync(host, """{"delay_ms":600000}""");
            await WaitForStatusAsync(running, "running");
            await EnqueueManyAsync(3, "{}");
            await Eventually.TrueAsync(async () => await PendingAsync() == 4, "one running and three held");
            consumer = (string)(await Db.StreamConsumerInfoAsync(Stream, "workers")).Single().Name!;
        }

        var left = await Db.StreamPendingMessagesAsync(Stream, "workers", 10, consumer);
        var runningEntry = await Infrastructure.ScalarAsync<string>("SELECT stream_entry_id FROM jobs WHERE type = 'noop' AND id = $1", running);
        Assert.Multiple(() =>
        {
            Assert.That(left, Has.Length.EqualTo(4), "the running one cancelled by the drain's end, the held ones: all released");
            Assert.That(left.Where(p => p.MessageId != runningEntry).Select(p => p.DeliveryCount), Is.EqualTo(new[] { 0, 0, 0 }),
                "the next reclaim makes it 1 again: holding is not a delivery");
            Assert.That(left.Single(p => p.MessageId == runningEntry).DeliveryCount, Is.EqualTo(1), "an execution that started and did not finish counts");
        });
    }

    [Test]
    public async Task Run_NoStateEntryHeldByManyReplicasThatDied_RunsInsteadOfBeingDeadLettered()
    {
        var jobId = await EnqueueDirectAsync("{}");
        var entry = (await ReadAsGhostAsync("ghost-0", 1)).Single().Id;
        for (var i = 1; i <= 5; i++)
        {
            await Db.StreamClaimAsync(Stream, "workers", $"ghost-{i}", 0, [entry]);
        }

        await WaitIdleAsync("ghost-5", TimeSpan.FromSeconds(1));
        await using var host = await WorkerTestHost.StartAsync(Settings([.. Fast,
            ("Worker:Jobs:noop:MaxDeliveries", "2"), ("Worker:Jobs:noop:PersistState", "false")]));

        Assert.That(await WaitForSucceededAsync(1), Is.EqualTo(new[] { jobId }), "delivered seven times, never started");
        Assert.That(await DeadLettersAsync(), Is.Empty);
        await Eventually.TrueAsync(async () => !await Db.HashExistsAsync(Stream + ":starts", entry), "its start count forgotten once done");
    }

    [Test]
    public async Task Run_NoStateEntryThatStartedMaxDeliveriesTimes_DeadLetteredAsACrasher()
    {
        await EnqueueDirectAsync("{}");
        var entry = (await ReadAsGhostAsync("ghost-0", 1)).Single().Id;
        await Db.StreamClaimAsync(Stream, "workers", "ghost-1", 0, [entry]);
        await Db.StreamClaimAsync(Stream, "workers", "ghost-2", 0, [entry]);
        // The two redeliveries started (what the worker records before each one's handler) and never finished.
        await Db.HashSetAsync(Stream + ":starts", entry, 2);
        await WaitIdleAsync("ghost-2", TimeSpan.FromSeconds(1));

        await using var host = await WorkerTestHost.StartAsync(Settings([.. Fast,
            ("Worker:Jobs:noop:MaxDeliveries", "2"), ("Worker:Jobs:noop:PersistState", "false")]));

        var dead = (await WaitForDeadLettersAsync(1)).Single();
        Assert.That(Field(dead, "error_type"), Is.EqualTo("delivery_limit_exceeded"));
    }

    [Test]
    public async Task Run_NoStateRedeliveredEntry_ItsStartIsCountedBeforeTheHandlerRuns()
    {
        // Runs until the stop's hard stop cancels it, so the probe cannot race its end (that the count is forgotten
        // once an entry is done is Run_NoStateEntryHeldByManyReplicasThatDied's).
        await EnqueueDirectAsync("""{"delay_ms":600000}""");
        var entry = (await ReadAsGhostAsync("ghost", 1)).Single().Id;
        await WaitIdleAsync("ghost", TimeSpan.FromSeconds(1));

        await using var host = await WorkerTestHost.StartAsync(Settings([.. Fast,
            ("Worker:Jobs:noop:PersistState", "false"), ("Worker:DrainTimeout", "00:00:01")]));

        await Eventually.TrueAsync(async () => (long)await Db.HashGetAsync(Stream + ":starts", entry) == 1, "the redelivery's start recorded while it runs");
    }

    [Test]
    public async Task Run_ConsumersThatLeft_RemovedButNeverOneWithPendingEntriesOrALiveOne()
    {
        await Db.StreamCreateConsumerGroupAsync(Stream, "workers", "0-0", createStream: true);
        await Db.ExecuteAsync("XGROUP", "CREATECONSUMER", (RedisKey)Stream, "workers", "gone-empty");
        await EnqueueDirectAsync("""{"delay_ms":1}""");
        await ReadAsGhostAsync("gone-holding", 1);
        var timeout = TimeSpan.FromSeconds(5);
        var settings = Settings([.. Fast,
            ("Worker:Jobs:noop:IdleConsumerTimeout", "00:00:05"),
            // Longer than the test: the holder's entry must stay with it, so the removal is judged on it as it is.
            ("Worker:Jobs:noop:VisibilityTimeout", "00:05:00")]);
        await using var host = await WorkerTestHost.StartAsync(settings);
        // Redis creates a consumer with its first delivery (before 7.2 its idle time also counts from the last one).
        await WaitForStatusAsync(await EnqueueAsync(host, "{}"), "succeeded");
        // Its ack follows the status row: wait for it, then the worker's consumer is the one not named by the test.
        var live = (string)(await Eventually.GetAsync(
            async () => (await Db.StreamConsumerInfoAsync(Stream, "workers")).Where(c => c.Name != "gone-empty" && c.Name != "gone-holding").ToArray(),
            c => c is [{ PendingMessageCount: 0 }], "the worker's consumer with its job acked")).Single().Name!;

        await Eventually.TrueAsync(
            async () => (await Db.StreamConsumerInfoAsync(Stream, "workers")).All(c => c.Name != "gone-empty"),
            "the idle consumer with nothing pending to be removed", TimeSpan.FromSeconds(30));
        // Idle past the timeout and two removal rounds (a quarter of it each) later, the live one must still be there.
        var liveIdle = await Eventually.GetAsync(
            async () => (await Db.StreamConsumerInfoAsync(Stream, "workers")).FirstOrDefault(c => c.Name == live).IdleTimeInMilliseconds,
            idle => idle == 0 || idle >= (timeout * 1.5).TotalMilliseconds, "the live consumer to be idle past the timeout", TimeSpan.FromSeconds(30));

        var left = (await Db.StreamConsumerInfoAsync(Stream, "workers")).ToDictionary(c => (string)c.Name!, c => c.PendingMessageCount);
        Assert.That(left.Keys, Is.EquivalentTo(new[] { "gone-holding", live }), $"removed: gone-empty only (live one idle {liveIdle} ms)");
        Assert.That(left["gone-holding"], Is.EqualTo(1), "a consumer that holds entries keeps them");
    }
}
