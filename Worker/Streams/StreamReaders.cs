using StackExchange.Redis;

namespace Worker.Streams;

/// <summary>Connects each consumer's reader, on a plain socket where the configuration allows it, and ends parked reads on stop.</summary>
internal static class StreamReaders
{
    /// <summary>Why the socket reader cannot serve <paramref name="configuration"/>, or null when it can.</summary>
    public static string? SocketUnsupported(string configuration) => SocketStreamReader.Unsupported(ConfigurationOptions.Parse(configuration));

    public static async Task<IStreamReader> ConnectAsync(string configuration, string clientName, TimeSpan blockTime)
    {
        var options = ConfigurationOptions.Parse(configuration);
        return SocketStreamReader.Unsupported(options) is null
            ? await SocketStreamReader.ConnectAsync(options, clientName)
            : await MultiplexerStreamReader.ConnectAsync(options, clientName, blockTime);
    }

    /// <summary>
    /// Ends parked reads now (they return no entries) so a stop does not wait out the block time. CLIENT UNBLOCK is
    /// an admin command, which the shared multiplexer need not allow, so a short-lived admin connection sends it.
    /// Failure only makes the stop slower: each read still ends at its block time.
    /// </summary>
    public static async Task UnblockAllAsync(string configuration, IEnumerable<IStreamReader> readers)
    {
        var ids = readers.Select(r => r.ClientId).Where(id => id >= 0).ToList();
        if (ids.Count == 0)
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
            await Task.WhenAll(ids.Select(id => db.ExecuteAsync("CLIENT", "UNBLOCK", id))).WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
        }
    }
}
