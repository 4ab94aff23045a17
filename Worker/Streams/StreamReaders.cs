using System.Net;
using StackExchange.Redis;

namespace Worker.Streams;

/// <summary>Connects each consumer's reader, on a plain socket where the configuration allows it, and ends parked reads on stop.</summary>
internal static class StreamReaders
{
    /// <summary>Why the socket reader cannot serve <paramref name="configuration"/>, or null when it can.</summary>
    public static string? SocketUnsupported(string configuration) => SocketStreamReader.Unsupported(ConfigurationOptions.Parse(configuration));

    /// <summary>
    /// A reader for <paramref name="streamKey"/>. The socket reader goes to the node the shared multiplexer sends that
    /// key's commands to: with one endpoint that is the endpoint; in a cluster, the master serving the key's slot, and
    /// after a failover the replica that took over, once the multiplexer has seen the change.
    /// </summary>
    public static async Task<IStreamReader> ConnectAsync(
        string configuration, IConnectionMultiplexer redis, string streamKey, string clientName, TimeSpan blockTime)
    {
        var options = ConfigurationOptions.Parse(configuration);
        return SocketStreamReader.Unsupported(options) is null
            ? await SocketStreamReader.ConnectAsync(options, clientName, () => Owner(redis, streamKey, options))
            : await MultiplexerStreamReader.ConnectAsync(options, clientName, blockTime);
    }

    /// <summary>The master the multiplexer would send <paramref name="key"/>'s commands to, or the first configured endpoint.</summary>
    internal static EndPoint Owner(IConnectionMultiplexer redis, RedisKey key, ConfigurationOptions options)
    {
        try
        {
            return redis.GetServer(key, flags: CommandFlags.DemandMaster).EndPoint;
        }
        catch (Exception e) when (e is RedisException or InvalidOperationException or NotSupportedException)
        {
            // Not connected yet: the configured node redirects the read (MOVED) if it is not the owner.
            return options.EndPoints[0];
        }
    }

    /// <summary>
    /// Ends parked reads now (they return no entries) so a stop does not wait out the block time. CLIENT UNBLOCK is
    /// an admin command, which the shared multiplexer need not allow, so a short-lived admin connection sends it, to
    /// the node each reader is parked on (client ids are per node).
    /// Failure only makes the stop slower: each read still ends at its block time.
    /// </summary>
    public static async Task UnblockAllAsync(string configuration, IEnumerable<IStreamReader> readers)
    {
        var parked = readers.Select(r => (Id: r.ClientId, r.Server)).Where(r => r.Id >= 0).ToList();
        if (parked.Count == 0)
        {
            return;
        }

        try
        {
            var options = ConfigurationOptions.Parse(configuration);
            options.AllowAdmin = true;
            options.AbortOnConnectFail = true;
            options.ConnectTimeout = 2000;
            options.ClientName = "worker-unblock";
            await using var admin = await ConnectionMultiplexer.ConnectAsync(options);
            var db = admin.GetDatabase();
            await Task.WhenAll(parked.Select(r => r.Server is { } server && options.EndPoints.Count > 1
                ? admin.GetServer(server).ExecuteAsync("CLIENT", "UNBLOCK", r.Id)
                : db.ExecuteAsync("CLIENT", "UNBLOCK", r.Id))).WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ArgumentException)
        {
        }
    }
}
