using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Worker.Hosting;
using Worker.Jobs.LinkMetadata;
using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Cluster;

/// <summary>The engine's paths on a Redis Cluster: every script's keys in one slot, the reader on the slot's master.</summary>
[TestFixture]
public sealed class ClusterEngineTests : ClusterTestBase
{
    [Test]
    public async Task Run_JobsOnACluster_SucceedAckedAndReadOnTheSlotsMasterBySocket()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings());
        var ids = Enumerable.Range(0, 30).Select(_ => NewJobId()).ToList();
        foreach (var id in ids.Take(10))
        {
            await host.Queue.EnqueueAsync("noop", """{"effect":true}""", id);
        }

        await host.Queue.EnqueueBatchAsync("noop", ids.Skip(10).Select(id => new JobRequest("{}", id)).ToList());

        await Eventually.TrueAsync(async () => await SucceededAsync(ids) == 30, "30 succeeded jobs");
        await Eventually.TrueAsync(async () => await PendingAsync() == 0, "no pending entries");
        var reader = host.Host.Services.GetRequiredService<ConsumerPoolService>().Consumers.Single().Reader;
        var owner = await OwnerAsync(Stream);
        Assert.That(reader, Is.InstanceOf<SocketStreamReader>(), "a cluster keeps the socket reader");
        Assert.That(Port(reader!.Server), Is.EqualTo(Port(owner.EndPoint)), "the reader reads from the slot's master");
        await Eventually.TrueAsync(
            async () => ((string?)await owner.ExecuteAsync("CLIENT", "LIST"))!.Split('\n')
                .Any(c => c.StartsWith($"id={reader.ClientId} ", StringComparison.Ordinal) && c.Contains("cmd=xreadgroup", StringComparison.Ordinal)),
            "the reader parked on the slot's master");
        Assert.That(await Infrastructure.ScalarAsync<long>("SELECT count(*) FROM noop_effects WHERE job_id = ANY($1)", new object[] { ids.Take(10).ToArray() }), Is.EqualTo(10));
    }

    [Test]
    public async Task Run_TransientFailureScheduledThroughTheDelayedSet_RetriedAndSucceeds()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings(
            ("Worker:Jobs:noop:Retry:BaseDelay", "00:00:00.400"), ("Worker:Jobs:noop:Retry:InlineThreshold", "00:00:00.001")));
        var jobId = NewJobId();
        await host.Queue.EnqueueAsync("noop", """{"fail":"transient","fail_attempts":1}""", jobId);

        await Eventually.TrueAsync(async () => await Db.SortedSetLengthAsync(Stream + ":delayed") == 1, "the retry in the delayed set");
        await WaitForStatusAsync(jobId, "succeeded");
        Assert.Multiple(async () =>
        {
            Assert.That(await Infrastructure.ScalarAsync<int>("SELECT attempts FROM jobs WHERE type = 'noop' AND id = $1", jobId), Is.EqualTo(2));
            Assert.That(await Db.SortedSetLengthAsync(Stream + ":delayed"), Is.Zero, "promoted back onto the stream");
        });
    }

    [Test]
    public async Task Run_PermanentFailure_DeadLetteredWithItsFields()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings());
        var jobId = NewJobId();
        await host.Queue.EnqueueAsync("noop", """{"fail":"permanent"}""", jobId);

        var letters = await Eventually.GetAsync(DeadLettersAsync, d => d.Length == 1, "one dead letter");
        Assert.Multiple(async () =>
        {
            Assert.That(Field(letters[0], "job_id"), Is.EqualTo(jobId));
            Assert.That(Field(letters[0], "error_type"), Is.EqualTo("noop_permanent"));
            Assert.That(await PendingAsync(), Is.Zero, "acked in the same script");
        });
    }

    [Test]
    public async Task Run_EntriesOfADeadConsumer_ReclaimedAndRun()
    {
        var jobId = NewJobId();
        await AddRawAsync("""{"effect":true}""", jobId);
        Assert.That(await ReadAsGhostAsync("crashed"), Has.Length.EqualTo(1));

        await using var host = await WorkerTestHost.StartAsync(Settings(
            ("Worker:Jobs:noop:VisibilityTimeout", "00:00:00.500"), ("Worker:Jobs:noop:ClaimInterval", "00:00:00.100")));

        await WaitForStatusAsync(jobId, "succeeded");
        await Eventually.TrueAsync(async () => await PendingAsync() == 0, "the reclaimed entry acked");
        Assert.That(await Infrastructure.ScalarAsync<long>("SELECT count(*) FROM noop_effects WHERE job_id = $1", jobId), Is.EqualTo(1));
    }

    [Test]
    public async Task Run_TrimInterval_RemovesAcknowledgedEntries()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings(
            ("Worker:Jobs:noop:TrimInterval", "00:00:00.200"), ("Worker:Jobs:noop:PersistState", "false")));
        // Approximate trimming removes whole nodes of 100 entries: enough entries for several.
        await host.Queue.EnqueueBatchAsync("noop", Enumerable.Range(0, 600).Select(_ => new JobRequest("{}")).ToList());

        await Eventually.TrueAsync(async () => await Db.StreamLengthAsync(Stream) < 600, "acknowledged entries trimmed");
        Assert.That(await PendingAsync(), Is.Zero);
    }

    [Test]
    public async Task Run_EventsStreamWithoutAHashTag_GetsEveryLifecycleEvent()
    {
        var events = $"test-events:{Guid.NewGuid():N}";
        try
        {
            await using var host = await WorkerTestHost.StartAsync(Settings(("Worker:Events:Stream", events)));
            var jobId = NewJobId();
            await host.Queue.EnqueueAsync("noop", "{}", jobId);

            var entries = await Eventually.GetAsync(() => Db.StreamRangeAsync(events), e => e.Length >= 1, "an event on the events stream");
            Assert.That(Field(entries[0], "type"), Is.EqualTo("job.succeeded"));
            Assert.That(JsonDocument.Parse(Field(entries[0], "data")!).RootElement.GetProperty("data").GetProperty("job_id").GetString(), Is.EqualTo(jobId));
        }
        finally
        {
            await Db.KeyDeleteAsync(events);
        }
    }

    [Test]
    public async Task PreviewCache_UrlsOnEveryMaster_StoredAndReadBack()
    {
        var cache = new PreviewCache(
            Infrastructure.Cluster, Options.Create(new LinkMetadataOptions()), NullLogger<PreviewCache>.Instance);
        var urls = Enumerable.Range(0, 24).Select(i => new Uri($"https://example.com/{Guid.NewGuid():N}/{i}")).ToList();

        foreach (var url in urls)
        {
            await cache.SetAsync(url, $$"""{"url":"{{url}}"}""");
        }

        foreach (var url in urls)
        {
            Assert.That(await cache.GetAsync(url), Is.EqualTo($$"""{"url":"{{url}}"}"""));
        }

        // Each preview is a key of its own, spread over the masters: nothing ties them to one slot.
        var masters = new HashSet<int>();
        foreach (var server in Infrastructure.Cluster.GetServers().Where(s => !s.IsReplica))
        {
            await foreach (var key in server.KeysAsync(pattern: "link-metadata:preview:*", pageSize: 1000))
            {
                masters.Add(Port(server.EndPoint));
                await Db.KeyDeleteAsync(key);
            }
        }

        Assert.That(masters, Has.Count.GreaterThanOrEqualTo(2));
    }
}
