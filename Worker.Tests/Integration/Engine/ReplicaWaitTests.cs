using StackExchange.Redis;
using Worker.Hosting;
using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>
/// Enqueues wait for a replica (<c>WAIT 1</c>) when the master has one, and fail when none confirms in time; on a
/// master without replicas they do not wait at all. A private master (and replica) per test: a stalled replica is SIGSTOP.
/// </summary>
[TestFixture]
public sealed class ReplicaWaitTests : EngineTestBase
{
    private PrivateRedis _master = null!;
    private PrivateRedis? _replica;
    private ConnectionMultiplexer _admin = null!;

    [SetUp]
    public async Task StartMaster()
    {
        // No 5 s wait for more replicas before a full sync.
        _master = new PrivateRedis("--repl-diskless-sync-delay", "0");
        await _master.StartAsync();
        _admin = await ConnectionMultiplexer.ConnectAsync($"{_master.Configuration},allowAdmin=true");
    }

    [TearDown]
    public async Task StopServers()
    {
        await _admin.DisposeAsync();
        _replica?.Dispose();
        _replica = null;
        _master.Dispose();
    }

    private async Task StartReplicaAsync()
    {
        _replica = new PrivateRedis("--replicaof", "127.0.0.1", _master.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await _replica.StartAsync();
        await using var replica = await ConnectionMultiplexer.ConnectAsync($"{_replica.Configuration},allowAdmin=true");
        await Eventually.TrueAsync(
            async () => (await replica.GetServer(_replica.Configuration).InfoRawAsync("replication"))!.Contains("master_link_status:up", StringComparison.Ordinal),
            "the replica in sync");
    }

    /// <summary>How many WAIT commands the master has run.</summary>
    private async Task<long> WaitCallsAsync()
    {
        var stats = await _admin.GetServer(_master.Configuration).InfoRawAsync("commandstats");
        var line = stats!.Split('\n').FirstOrDefault(l => l.StartsWith("cmdstat_wait:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(["calls=", ","], StringSplitOptions.None)[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private Task<WorkerTestHost> StartHostAsync(params (string Key, string Value)[] extra) =>
        WorkerTestHost.StartAsync(Settings([("ConnectionStrings:Redis", _master.Configuration), ("Worker:Jobs:noop:Enabled", "false"), .. extra]));

    [Test]
    public async Task Enqueue_MasterWithAReplica_WaitsForItAndTheReplicaHasTheEntries()
    {
        await StartReplicaAsync();
        await using var host = await StartHostAsync();

        await host.Queue.EnqueueAsync("noop", "{}", NewJobId());
        await host.Queue.EnqueueBatchAsync("noop", [new JobRequest("{}"), new JobRequest("{}")]);

        await using var replica = await ConnectionMultiplexer.ConnectAsync(_replica!.Configuration);
        Assert.Multiple(async () =>
        {
            Assert.That(await WaitCallsAsync(), Is.EqualTo(2), "one WAIT per enqueue call");
            Assert.That(await replica.GetDatabase().StreamLengthAsync(Stream), Is.EqualTo(3), "on the replica when the enqueue returned");
        });
    }

    [Test]
    public async Task Enqueue_MasterWithoutReplicas_DoesNotWait()
    {
        await using var host = await StartHostAsync();

        await host.Queue.EnqueueAsync("noop", "{}", NewJobId());

        Assert.Multiple(async () =>
        {
            Assert.That(await WaitCallsAsync(), Is.Zero);
            Assert.That(await _admin.GetDatabase().StreamLengthAsync(Stream), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Enqueue_ReplicaStalled_FailsAsNotConfirmed()
    {
        await StartReplicaAsync();
        await using var host = await StartHostAsync(("Worker:Redis:ReplicaTimeout", "00:00:00.200"));
        // A first write the replica confirms (it also tells the worker the master has one); on a busy machine a fresh
        // replica can take longer than 200 ms for it, so it is tried until one is confirmed.
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    await host.Queue.EnqueueAsync("noop", "{}", NewJobId());
                    return true;
                }
                catch (ReplicaWriteTimeoutException)
                {
                    return false;
                }
            },
            "a first enqueue confirmed by the replica");
        var before = await _admin.GetDatabase().StreamLengthAsync(Stream);
        _replica!.Signal("STOP");
        try
        {
            var failure = await Assert.ThrowsAsync<ReplicaWriteTimeoutException>(() => host.Queue.EnqueueAsync("noop", "{}", NewJobId()));

            Assert.That(failure!.Message, Does.Contain("200 ms"));
            Assert.That(await _admin.GetDatabase().StreamLengthAsync(Stream), Is.EqualTo(before + 1), "on the master, unconfirmed");
        }
        finally
        {
            _replica.Signal("CONT");
        }
    }

    [Test]
    public async Task Enqueue_ReplicaStalledWaitTurnedOff_Succeeds()
    {
        await StartReplicaAsync();
        await using var host = await StartHostAsync(("Worker:Redis:WaitForReplica", "false"));
        _replica!.Signal("STOP");
        try
        {
            await host.Queue.EnqueueAsync("noop", "{}", NewJobId());

            Assert.That(await WaitCallsAsync(), Is.Zero);
        }
        finally
        {
            _replica.Signal("CONT");
        }
    }

    [Test]
    public async Task EnqueueVerb_ReplicaStalled_ExitsNonZeroSayingNotConfirmed()
    {
        await StartReplicaAsync();
        _replica!.Signal("STOP");
        try
        {
            using var enqueue = WorkerProcess.Start(
                Settings(("ConnectionStrings:Redis", _master.Configuration), ("Worker:Redis:ReplicaTimeout", "00:00:00.200")),
                "enqueue", "noop", "{}", "--job-id", NewJobId());

            Assert.That(await enqueue.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(ExitCodes.Failure));
            Assert.That(enqueue.StandardError, Does.Contain("not confirmed"));
        }
        finally
        {
            _replica.Signal("CONT");
        }
    }
}
