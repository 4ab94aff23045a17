using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Worker.Hosting;
using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Cluster;

/// <summary>
/// A master killed with SIGKILL while jobs are enqueued: its replica takes over, and every job whose enqueue reported
/// success runs, with one effect each, on a worker that stays up.
/// </summary>
[TestFixture]
public sealed class ClusterFailoverTests
{
    /// <summary>Confirmed enqueues before the kill, and again after it: 150.</summary>
    private const int Enough = 150;

    [Test]
    public async Task Run_MasterKilledWhileEnqueueing_EveryConfirmedJobRunsOnceAndTheReaderFollows()
    {
        using var cluster = await PrivateCluster.StartAsync();
        var stream = WorkerTestHost.NewStream();
        var settings = WorkerTestHost.NoopSettings(stream);
        settings["ConnectionStrings:Redis"] = $"{cluster.Configuration},abortConnect=false";
        settings["Worker:Jobs:noop:Concurrency"] = "8";
        settings["Worker:Jobs:noop:VisibilityTimeout"] = "00:00:01";
        settings["Worker:Jobs:noop:ClaimInterval"] = "00:00:00.200";
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{cluster.Configuration},allowAdmin=true");
        var ownerPort = ((IPEndPoint)(await admin.GetDatabase().IdentifyEndpointAsync(stream))!).Port;
        var owner = cluster.Nodes.Single(n => n.Port == ownerPort);
        await using var host = await WorkerTestHost.StartAsync(settings);

        var confirmed = new ConcurrentBag<string>();
        var failures = 0;
        var confirmedAfterKill = 0;
        var killed = false;
        var killedAt = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        // Bounded from the kill, not from the start: on a busy machine the first 100 enqueues alone can take seconds.
        while (confirmedAfterKill < Enough && (!killed || clock.Elapsed - killedAt < TimeSpan.FromSeconds(60)))
        {
            var id = Guid.NewGuid().ToString("N");
            try
            {
                await host.Queue.EnqueueAsync("noop", """{"effect":true}""", id);
                confirmed.Add(id);
                confirmedAfterKill += killed ? 1 : 0;
            }
            catch (Exception e) when (e is RedisException or TimeoutException or ReplicaWriteTimeoutException)
            {
                failures++;
            }

            if (!killed && confirmed.Count >= Enough)
            {
                owner.Kill();
                killed = true;
                killedAt = clock.Elapsed;
            }
        }

        TestContext.Out.WriteLine($"killed at {killedAt.TotalSeconds:0.0} s; {confirmed.Count} confirmed, {failures} failed, done at {clock.Elapsed.TotalSeconds:0.0} s");

        Assert.That(confirmedAfterKill, Is.EqualTo(Enough), $"enqueues go on after the failover ({failures} failed on the way)");
        var ids = confirmed.ToArray();
        await Eventually.TrueAsync(
            async () => await Infrastructure.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE type = 'noop' AND id = ANY($1) AND status = 'succeeded'", new object[] { ids }) == ids.Length,
            $"all {ids.Length} confirmed jobs succeeded", TimeSpan.FromSeconds(120));
        Assert.That(
            await Infrastructure.ScalarAsync<long>("SELECT count(*) FROM noop_effects WHERE job_id = ANY($1)", new object[] { ids }),
            Is.EqualTo(ids.Length), "one effect per job");
        var reader = host.Host.Services.GetRequiredService<ConsumerPoolService>().Consumers.Single().Reader!;
        Assert.That((reader.Server as IPEndPoint)?.Port, Is.Not.EqualTo(ownerPort), "the reader moved to the promoted replica");
    }
}
