using StackExchange.Redis;

namespace Worker.Streams;

/// <summary>
/// <c>XREADGROUP ... BLOCK</c> on a connection of its own. StackExchange.Redis never blocks its shared multiplexer
/// (one blocked command would stall every caller behind it), so each job type's reader gets a dedicated
/// multiplexer whose timeouts exceed the block time. An idle worker costs Redis one parked command per job type
/// and picks a new entry up as soon as it is added.
/// </summary>
internal sealed class BlockingStreamReader : IAsyncDisposable
{
    /// <summary>Slack above the block time before the client gives up on a read: 5 seconds.</summary>
    private static readonly TimeSpan TimeoutSlack = TimeSpan.FromSeconds(5);

    private readonly ConnectionMultiplexer _connection;
    private long _clientId = -1;

    private BlockingStreamReader(ConnectionMultiplexer connection) => _connection = connection;

    public static async Task<BlockingStreamReader> ConnectAsync(string configuration, string clientName, TimeSpan blockTime)
    {
        var options = ConfigurationOptions.Parse(configuration);
        var timeout = (int)(blockTime + TimeoutSlack).TotalMilliseconds;
        options.SyncTimeout = timeout;
        options.AsyncTimeout = timeout;
        options.AbortOnConnectFail = false;
        options.ClientName = clientName;
        options.AllowAdmin = true;
        // Reads only: no second (subscription) connection per reader.
        options.CommandMap = CommandMap.Create(["SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"], available: false);

        var connection = await ConnectionMultiplexer.ConnectAsync(options);
        var reader = new BlockingStreamReader(connection);
        connection.ConnectionRestored += (_, _) => Interlocked.Exchange(ref reader._clientId, -1);
        return reader;
    }

    /// <summary>
    /// Reads up to <paramref name="count"/> new entries, waiting at most <paramref name="block"/> for the first.
    /// With no wait (<see cref="TimeSpan.Zero"/>: the caller knows a backlog is there) the client's own
    /// <c>XREADGROUP</c> is used, which parses the reply straight into entries.
    /// </summary>
    public async Task<StackExchange.Redis.StreamEntry[]> ReadAsync(
        string streamKey, string group, string consumer, int count, TimeSpan block)
    {
        var db = _connection.GetDatabase();
        if (block <= TimeSpan.Zero)
        {
            return await db.StreamReadGroupAsync(streamKey, group, consumer, StreamPosition.NewMessages, count);
        }

        if (Interlocked.Read(ref _clientId) < 0)
        {
            // Remembered so a stop can end a parked read at once with CLIENT UNBLOCK from another connection.
            Interlocked.Exchange(ref _clientId, (long)await db.ExecuteAsync("CLIENT", "ID"));
        }

        var reply = await db.ExecuteAsync(
            "XREADGROUP",
            "GROUP", group, consumer,
            "COUNT", count,
            "BLOCK", (long)block.TotalMilliseconds,
            "STREAMS", (RedisKey)streamKey, ">");
        return StreamReplyParser.ParseReadReply(reply);
    }

    /// <summary>
    /// Ends parked reads now (they return no entries) so a stop does not wait out the block time. CLIENT UNBLOCK is
    /// an admin command, which the shared multiplexer need not allow, so a short-lived admin connection sends it.
    /// Failure only makes the stop slower: each read still ends at its block time.
    /// </summary>
    public static async Task UnblockAllAsync(string configuration, IEnumerable<BlockingStreamReader> readers)
    {
        var ids = readers.Select(r => Interlocked.Read(ref r._clientId)).Where(id => id >= 0).ToList();
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

    public async ValueTask DisposeAsync() => await _connection.CloseAsync(allowCommandsToComplete: false);
}
