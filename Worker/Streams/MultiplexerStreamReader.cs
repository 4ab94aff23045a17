using StackExchange.Redis;

namespace Worker.Streams;

/// <summary>
/// The reader for connections a plain socket does not serve (TLS, Sentinel, several endpoints): a dedicated
/// multiplexer whose timeouts exceed the block time, sending <c>XREADGROUP ... BLOCK</c> through <c>ExecuteAsync</c>.
/// Its replies reach the read loop through the client's threads, which costs pickup latency (docs/benchmarks.md).
/// </summary>
internal sealed class MultiplexerStreamReader : IStreamReader
{
    /// <summary>Slack above the block time before the client gives up on a read: 5 seconds.</summary>
    private static readonly TimeSpan TimeoutSlack = TimeSpan.FromSeconds(5);

    private readonly ConnectionMultiplexer _connection;
    private long _clientId = -1;

    private MultiplexerStreamReader(ConnectionMultiplexer connection) => _connection = connection;

    public static async Task<MultiplexerStreamReader> ConnectAsync(ConfigurationOptions configuration, string clientName, TimeSpan blockTime)
    {
        var options = configuration.Clone();
        var timeout = (int)(blockTime + TimeoutSlack).TotalMilliseconds;
        options.SyncTimeout = timeout;
        options.AsyncTimeout = timeout;
        options.AbortOnConnectFail = false;
        options.ClientName = clientName;
        options.AllowAdmin = true;
        // Reads only: no second (subscription) connection per reader.
        options.CommandMap = CommandMap.Create(["SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"], available: false);

        var connection = await ConnectionMultiplexer.ConnectAsync(options);
        var reader = new MultiplexerStreamReader(connection);
        connection.ConnectionRestored += (_, _) => Interlocked.Exchange(ref reader._clientId, -1);
        return reader;
    }

    public long ClientId => Interlocked.Read(ref _clientId);

    /// <summary>
    /// The ack is sent just before the read on the same connection, so the two are pipelined. With no wait the
    /// client's own <c>XREADGROUP</c> is used, which parses the reply straight into entries.
    /// </summary>
    public async ValueTask<StreamEntry[]> ReadAsync(
        string streamKey, string group, string consumer, int count, TimeSpan block, ReadOnlyMemory<string> acks = default)
    {
        var db = _connection.GetDatabase();
        if (block > TimeSpan.Zero && Interlocked.Read(ref _clientId) < 0)
        {
            // Remembered so a stop can end a parked read at once with CLIENT UNBLOCK from another connection.
            Interlocked.Exchange(ref _clientId, (long)await db.ExecuteAsync("CLIENT", "ID"));
        }

        var ack = acks.IsEmpty ? null : db.StreamAcknowledgeAsync(streamKey, group, [.. acks.Span]);
        StreamEntry[] entries;
        try
        {
            entries = block <= TimeSpan.Zero
                ? await db.StreamReadGroupAsync(streamKey, group, consumer, StreamPosition.NewMessages, count)
                : StreamReplyParser.ParseReadReply(await db.ExecuteAsync(
                    "XREADGROUP",
                    "GROUP", group, consumer,
                    "COUNT", count,
                    "BLOCK", (long)block.TotalMilliseconds,
                    "STREAMS", (RedisKey)streamKey, ">"));
        }
        catch when (ack is not null)
        {
            // The read's failure is the one reported; the ack's outcome, whatever it is, is observed here.
            _ = ack.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
            throw;
        }

        if (ack is not null)
        {
            await ack;
        }

        return entries;
    }

    public async ValueTask DisposeAsync() => await _connection.CloseAsync(allowCommandsToComplete: false);
}
