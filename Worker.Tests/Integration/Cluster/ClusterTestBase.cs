using System.Net;
using StackExchange.Redis;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Cluster;

/// <summary>
/// Tests on the Redis Cluster <c>./scripts/test</c> starts (3 masters, 3 replicas): each test has its own stream, whose
/// hash tag puts it on one of the masters.
/// </summary>
public abstract class ClusterTestBase
{
    internal string Stream { get; set; } = null!;

    internal static IDatabase Db => Infrastructure.Cluster.GetDatabase();

    [SetUp]
    public void NewStream() => Stream = WorkerTestHost.NewStream();

    [TearDown]
    public async Task DeleteKeys()
    {
        // One slot, so one command may delete them all.
        await Db.KeyDeleteAsync(WorkerTestHost.KeysOf(Stream));
    }

    /// <summary>Noop on this test's stream, the worker and its verbs on the cluster.</summary>
    internal Dictionary<string, string?> Settings(params (string Key, string Value)[] extra)
    {
        var settings = WorkerTestHost.NoopSettings(Stream);
        settings["ConnectionStrings:Redis"] = TestEnvironment.RedisCluster;
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>The master that serves <paramref name="key"/>'s slot.</summary>
    internal static async Task<IServer> OwnerAsync(RedisKey key) =>
        Infrastructure.Cluster.GetServer((await Db.IdentifyEndpointAsync(key))!);

    internal static int Port(EndPoint? endPoint) => endPoint is IPEndPoint ip ? ip.Port : -1;

    internal static string NewJobId() => Guid.NewGuid().ToString("N");

    internal async Task<long> PendingAsync() => (await Db.StreamPendingAsync(Stream, "workers")).PendingMessageCount;

    internal async Task<StreamEntry[]> DeadLettersAsync() => await Db.StreamRangeAsync(Stream + ":dlq");

    internal static string? Field(StreamEntry entry, string name) => entry.Values.FirstOrDefault(v => v.Name == name).Value;

    internal static Task<string?> StatusAsync(string jobId) =>
        Infrastructure.ScalarAsync<string?>("SELECT status FROM jobs WHERE type = 'noop' AND id = $1", jobId);

    internal static Task<string?> WaitForStatusAsync(string jobId, string status, TimeSpan? timeout = null) =>
        Eventually.GetAsync(() => StatusAsync(jobId), s => s == status, $"job {jobId} to be {status}", timeout);

    internal static Task<long> SucceededAsync(IReadOnlyCollection<string> jobIds) =>
        Infrastructure.ScalarAsync<long>(
            "SELECT count(*) FROM jobs WHERE type = 'noop' AND id = ANY($1) AND status = 'succeeded'", new object[] { jobIds.ToArray() });

    /// <summary>Reads entries as a consumer that then "dies": they stay pending under its name.</summary>
    internal async Task<StreamEntry[]> ReadAsGhostAsync(string ghost, int count = 10)
    {
        try
        {
            await Db.StreamCreateConsumerGroupAsync(Stream, "workers", "0-0", createStream: true);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
        }

        return await Db.StreamReadGroupAsync(Stream, "workers", ghost, ">", count);
    }

    internal Task<RedisValue> AddRawAsync(string payload, string jobId) =>
        Db.StreamAddAsync(Stream, [new NameValueEntry("type", "noop"), new NameValueEntry("payload", payload), new NameValueEntry("job_id", jobId)]);

    internal Task<WorkerProcess> RunVerbAsync(params string[] args) => RunVerbAsync(Settings(), args);

    internal static async Task<WorkerProcess> RunVerbAsync(IDictionary<string, string?> settings, params string[] args)
    {
        var process = WorkerProcess.Start(settings, args);
        Assert.That(await process.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(Worker.Hosting.ExitCodes.Ok), process.StandardError);
        return process;
    }
}
