using StackExchange.Redis;
using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>Each test gets its own stream; helpers read what the worker left in Redis and PostgreSQL.</summary>
public abstract class EngineTestBase
{
    internal string Stream { get; private set; } = null!;

    internal static IDatabase Db => Infrastructure.Db;

    [SetUp]
    public void NewStream() => Stream = WorkerTestHost.NewStream();

    [TearDown]
    public async Task DeleteKeys() =>
        await Db.KeyDeleteAsync(WorkerTestHost.KeysOf(Stream));

    internal Dictionary<string, string?> Settings(params (string Key, string Value)[] extra)
    {
        var settings = WorkerTestHost.NoopSettings(Stream);
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>True once a worker's reader has parked its blocking XREADGROUP on Redis.</summary>
    internal static Task<bool> ReaderParkedAsync() => ReaderParkedAsync(consumer: null);

    /// <summary>The same for one consumer's reader (its connection is named after the consumer), or any when null.</summary>
    internal static async Task<bool> ReaderParkedAsync(string? consumer) =>
        ((string?)await Db.ExecuteAsync("CLIENT", "LIST"))!.Split('\n')
            .Any(c => c.Contains("cmd=xreadgroup", StringComparison.Ordinal) && c.Contains("flags=b", StringComparison.Ordinal)
                && (consumer is null || c.Contains($" name={consumer}:reader ", StringComparison.Ordinal)));

    internal static string NewJobId() => Guid.NewGuid().ToString("N");

    internal async Task<long> PendingAsync() =>
        (await Db.StreamPendingAsync(Stream, "workers")).PendingMessageCount;

    internal async Task<StreamEntry[]> DeadLettersAsync() => await Db.StreamRangeAsync(Stream + ":dlq");

    internal static string? Field(StreamEntry entry, string name) => entry.Values.FirstOrDefault(v => v.Name == name).Value;

    internal static Task<string?> StatusAsync(string jobId) =>
        Infrastructure.ScalarAsync<string?>("SELECT status FROM jobs WHERE type = 'noop' AND id = $1", jobId);

    internal static Task<int> AttemptsAsync(string jobId) =>
        Infrastructure.ScalarAsync<int>("SELECT attempts FROM jobs WHERE type = 'noop' AND id = $1", jobId);

    internal static Task<long> EffectsAsync(string jobId) =>
        Infrastructure.ScalarAsync<long>("SELECT count(*) FROM noop_effects WHERE job_id = $1", jobId);

    internal static Task<string?> WaitForStatusAsync(string jobId, string status, TimeSpan? timeout = null) =>
        Eventually.GetAsync(() => StatusAsync(jobId), s => s == status, $"job {jobId} to be {status}", timeout);

    internal Task<StreamEntry[]> WaitForDeadLettersAsync(int count, TimeSpan? timeout = null) =>
        Eventually.GetAsync(DeadLettersAsync, d => d.Length >= count, $"{count} dead letters on {Stream}:dlq", timeout);

    internal static Task<string> EnqueueAsync(WorkerTestHost host, string payload, string? jobId = null) =>
        host.Queue.EnqueueAsync("noop", payload, jobId ?? NewJobId());

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

    internal Task<RedisValue> AddRawAsync(params (string Name, string Value)[] fields) =>
        Db.StreamAddAsync(Stream, fields.Select(f => new NameValueEntry(f.Name, f.Value)).ToArray());

    internal Task<string> EnqueueDirectAsync(string payload, string? jobId = null) =>
        new JobQueueFacade(Stream).EnqueueAsync(payload, jobId ?? NewJobId());

    /// <summary>Enqueues through the wire format without a running host (as a producer in another language would).</summary>
    private sealed class JobQueueFacade(string stream)
    {
        public async Task<string> EnqueueAsync(string payload, string jobId)
        {
            await Db.StreamAddAsync(stream, [new NameValueEntry("type", "noop"), new NameValueEntry("payload", payload), new NameValueEntry("job_id", jobId)]);
            return jobId;
        }
    }
}
