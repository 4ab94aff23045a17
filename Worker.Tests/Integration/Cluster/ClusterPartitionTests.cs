using System.Text.Json;
using StackExchange.Redis;
using Worker.Jobs;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Cluster;

/// <summary>One job type over three streams of a cluster (<c>Partitions</c> 3): each stream on its own master.</summary>
[TestFixture]
public sealed class ClusterPartitionTests : ClusterTestBase
{
    private IReadOnlyList<JobTypeSettings> _partitions = null!;

    /// <summary>A stream whose three partitions do not all hash to one master (random tags do, one time in nine).</summary>
    [SetUp]
    public async Task Partitions()
    {
        for (var tries = 0; tries < 100; tries++)
        {
            _partitions = JobTypeSettings.Resolve("noop", new JobTypeOptions { Stream = Stream, Partitions = 3 }).AllPartitions();
            var owners = new HashSet<int>();
            foreach (var partition in _partitions)
            {
                owners.Add(Port((await OwnerAsync(partition.StreamKey)).EndPoint));
            }

            if (owners.Count >= 2)
            {
                return;
            }

            Stream = WorkerTestHost.NewStream();
        }

        Assert.Fail("no stream found whose partitions sit on two masters");
    }

    [TearDown]
    public async Task DeletePartitionKeys()
    {
        foreach (var partition in _partitions.Skip(1))
        {
            await Db.KeyDeleteAsync(WorkerTestHost.KeysOf(partition.StreamKey));
        }
    }

    [Test]
    public async Task EnqueueFrom_ThreePartitionsTwoReplicas_StreamsOnSeveralMastersAndEveryJobRunsOnce()
    {
        var settings = Settings(("Worker:Jobs:noop:Partitions", "3"), ("Worker:Jobs:noop:Concurrency", "8"));
        var ids = Enumerable.Range(0, 900).Select(_ => NewJobId()).ToList();
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllLinesAsync(file, ids.Select(id => $$"""{"id":"{{id}}","effect":true}"""));
            using (var enqueue = await RunVerbAsync(settings, "enqueue", "noop", "--from", file, "--job-id-field", "id"))
            {
                Assert.That(enqueue.StandardOutput, Does.Contain("enqueued 900 of 900 noop jobs"));
            }
        }
        finally
        {
            File.Delete(file);
        }

        var lengths = new List<long>();
        var masters = new HashSet<int>();
        foreach (var partition in _partitions)
        {
            lengths.Add(await Db.StreamLengthAsync(partition.StreamKey));
            masters.Add(Port((await OwnerAsync(partition.StreamKey)).EndPoint));
        }

        await using (var first = await WorkerTestHost.StartAsync(settings))
        await using (var second = await WorkerTestHost.StartAsync(settings))
        {
            await Eventually.TrueAsync(async () => await SucceededAsync(ids) == 900, "900 succeeded jobs", TimeSpan.FromSeconds(60));
        }

        using var stats = await RunVerbAsync(settings, "stats", "--json", "--type", "noop");
        var rows = JsonDocument.Parse(stats.StandardOutput).RootElement.EnumerateArray().ToList();
        var effects = await Infrastructure.ScalarAsync<long>(
            "SELECT count(*) FROM noop_effects WHERE job_id = ANY($1)", new object[] { ids.ToArray() });
        Assert.Multiple(() =>
        {
            Assert.That(lengths.Sum(), Is.EqualTo(900));
            Assert.That(lengths, Is.All.InRange(200, 400), "job ids spread over the partitions by their hash");
            Assert.That(masters, Has.Count.GreaterThanOrEqualTo(2), "the partitions sit on several masters");
            Assert.That(effects, Is.EqualTo(900), "one effect per job");
            Assert.That(rows.Select(r => r.GetProperty("stream").GetString()), Is.EqualTo(_partitions.Select(p => p.StreamKey)));
            Assert.That(rows.Select(r => r.GetProperty("pending").GetInt64()), Is.All.Zero);
        });
    }
}
