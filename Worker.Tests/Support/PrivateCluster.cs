using System.Diagnostics;
using StackExchange.Redis;

namespace Worker.Tests.Support;

/// <summary>
/// A Redis Cluster of the test's own (3 masters, 3 replicas, <c>cluster-node-timeout</c> 1 s so a failover takes
/// seconds), for tests that kill a node.
/// </summary>
internal sealed class PrivateCluster : IDisposable
{
    private PrivateCluster(List<PrivateRedis> nodes) => Nodes = nodes;

    public IReadOnlyList<PrivateRedis> Nodes { get; }

    public string Configuration => string.Join(",", Nodes.Select(n => n.Configuration));

    public static async Task<PrivateCluster> StartAsync()
    {
        var nodes = Enumerable.Range(0, 6).Select(_ => new PrivateRedis(
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
            "--repl-diskless-sync-delay", "0")).ToList();
        var cluster = new PrivateCluster(nodes);
        try
        {
            await Task.WhenAll(nodes.Select(n => n.StartAsync()));
            var create = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "--cluster", "create" }.Concat(nodes.Select(n => n.Configuration)).Concat(["--cluster-replicas", "1", "--cluster-yes"]))
            {
                create.ArgumentList.Add(arg);
            }

            using (var cli = Process.Start(create)!)
            {
                var output = await cli.StandardOutput.ReadToEndAsync();
                await cli.WaitForExitAsync();
                Assert.That(cli.ExitCode, Is.Zero, output);
            }

            await using var admin = await ConnectionMultiplexer.ConnectAsync($"{cluster.Configuration},allowAdmin=true");
            await Eventually.TrueAsync(async () => await cluster.SettledAsync(admin), "every node ok, with 3 masters and 3 replicas in sync", TimeSpan.FromSeconds(60));
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    /// <summary>Every node says cluster_state:ok, knows 3 masters, and every replica's link to its master is up.</summary>
    private async Task<bool> SettledAsync(ConnectionMultiplexer admin)
    {
        foreach (var node in Nodes)
        {
            var server = admin.GetServer(node.Configuration);
            var info = (string?)await server.ExecuteAsync("CLUSTER", "INFO");
            var view = (string?)await server.ExecuteAsync("CLUSTER", "NODES");
            var replication = await server.InfoRawAsync("replication");
            if (info?.Contains("cluster_state:ok", StringComparison.Ordinal) != true
                || view!.Split('\n').Count(l => l.Contains(" master ", StringComparison.Ordinal) || l.Contains(",master ", StringComparison.Ordinal)) != 3
                || (replication!.Contains("role:slave", StringComparison.Ordinal) && !replication.Contains("master_link_status:up", StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return true;
    }

    public void Dispose()
    {
        foreach (var node in Nodes)
        {
            node.Dispose();
        }
    }
}
