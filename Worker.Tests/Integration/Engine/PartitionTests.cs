using Microsoft.Extensions.DependencyInjection;
using Worker.Hosting;
using Worker.Jobs;
using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>One job type over several streams (<c>Partitions</c>), on one Redis.</summary>
[TestFixture]
public sealed class PartitionTests : EngineTestBase
{
    private IReadOnlyList<JobTypeSettings> _partitions = null!;

    [SetUp]
    public void Partitions() =>
        _partitions = JobTypeSettings.Resolve("noop", new JobTypeOptions { Stream = Stream, Partitions = 3 }).AllPartitions();

    [TearDown]
    public async Task DeletePartitionKeys()
    {
        foreach (var partition in _partitions.Skip(1))
        {
            await Db.KeyDeleteAsync(WorkerTestHost.KeysOf(partition.StreamKey));
        }
    }

    [Test]
    public async Task Run_ThreePartitions_JobsGoToTheirIdsPartitionOrTakeTurnsAndAllRun()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings(("Worker:Jobs:noop:Partitions", "3")));
        var withIds = Enumerable.Range(0, 60).Select(_ => new JobRequest("{}", NewJobId())).ToList();
        var withIdEntries = await host.Queue.EnqueueBatchAsync("noop", withIds);
        // Without an id of the caller's, each gets one (entry ids are unique per stream only), and the batch spreads.
        var withoutIds = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            withoutIds.Add(await host.Queue.EnqueueAsync("noop", "{}"));
        }

        await Eventually.TrueAsync(async () => await PendingEverywhereAsync() == (90, 0), "90 entries read and acked over the partitions");
        var succeeded = await Infrastructure.ScalarAsync<long>(
            "SELECT count(*) FROM jobs WHERE type = 'noop' AND id = ANY($1) AND status = 'succeeded'",
            new object[] { withIds.Select(j => j.JobId!).Concat(withoutIds).ToArray() });
        var lengths = new List<long>();
        foreach (var partition in _partitions)
        {
            lengths.Add(await Db.StreamLengthAsync(partition.StreamKey));
        }

        // Each job with an id sits in its id's partition.
        var misplaced = 0;
        for (var i = 0; i < withIds.Count; i++)
        {
            var home = _partitions[JobTypeSettings.PartitionOf(withIds[i].JobId!, 3)].StreamKey;
            if ((await Db.StreamRangeAsync(home, withIdEntries[i], withIdEntries[i])).Length != 1)
            {
                misplaced++;
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(succeeded, Is.EqualTo(90));
            Assert.That(misplaced, Is.Zero);
            Assert.That(lengths, Is.All.GreaterThan(10), "every partition got a share");
        });
    }

    /// <summary>Another producer's entries without a job id, one per partition, with the same entry id.</summary>
    [Test]
    public async Task Run_SameEntryIdInTwoPartitionsWithoutJobIds_BothRun()
    {
        // An entry id no other test's job has (the jobs table outlives the streams).
        var entryId = $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}-{Random.Shared.Next(1, int.MaxValue)}";
        foreach (var partition in _partitions.Take(2))
        {
            await Db.ExecuteAsync("XADD", (StackExchange.Redis.RedisKey)partition.StreamKey, entryId, "type", "noop", "payload", "{}");
        }

        await using var host = await WorkerTestHost.StartAsync(Settings(("Worker:Jobs:noop:Partitions", "3")));

        await WaitForStatusAsync(entryId, "succeeded");
        await WaitForStatusAsync($"{entryId}:p1", "succeeded");
    }

    [Test]
    public async Task Run_ThreePartitionsConcurrencyTwo_TheirJobsShareTwoSlots()
    {
        var probe = new ConcurrencyProbe("overlap");
        await using var host = await WorkerTestHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Worker:Jobs:overlap:Stream"] = Stream,
                ["Worker:Jobs:overlap:Partitions"] = "3",
                ["Worker:Jobs:overlap:Concurrency"] = "2",
                ["Worker:Jobs:overlap:PersistState"] = "false",
                ["Worker:Jobs:link-metadata:Enabled"] = "false",
                ["Worker:Http:Port"] = "0",
            },
            services => services.AddSingleton<IJobHandler>(probe));
        Assert.That(host.Host.Services.GetRequiredService<ConsumerPoolService>().Consumers, Has.Count.EqualTo(3), "a consumer per partition");

        await host.Queue.EnqueueBatchAsync("overlap", Enumerable.Range(0, 30).Select(_ => new JobRequest("{}")).ToList());

        await Eventually.TrueAsync(() => Task.FromResult(probe.Completed == 30), "30 jobs done");
        Assert.That(probe.MaxSeen, Is.EqualTo(2), "two at once at most, and the three partitions' backlogs reach two");
    }

    private async Task<(long Read, long Pending)> PendingEverywhereAsync()
    {
        long read = 0, pending = 0;
        foreach (var partition in _partitions)
        {
            if (!await Db.KeyExistsAsync(partition.StreamKey))
            {
                continue;
            }

            foreach (var group in await Db.StreamGroupInfoAsync(partition.StreamKey))
            {
                (read, pending) = (read + (group.EntriesRead ?? 0), pending + group.PendingMessageCount);
            }
        }

        return (read, pending);
    }
}
