using StackExchange.Redis;

namespace Worker.Streams;

/// <summary>
/// A consumer's reader: <c>XREADGROUP ... BLOCK</c> on a connection of its own, since StackExchange.Redis never blocks
/// its shared multiplexer (one blocked command would stall every caller behind it). An idle worker costs Redis one
/// parked command per job type and picks a new entry up as soon as it is added. <see cref="StreamReaders"/> chooses
/// the implementation.
/// </summary>
internal interface IStreamReader : IAsyncDisposable
{
    /// <summary>The Redis client id of the connection now parked, or -1: a stop ends the read with <c>CLIENT UNBLOCK</c>.</summary>
    long ClientId { get; }

    /// <summary>The node the reader's connection goes to, when it knows (a cluster has one per slot), else null.</summary>
    System.Net.EndPoint? Server => null;

    /// <summary>
    /// Acks <paramref name="acks"/> (entry ids of the same stream and group), then reads up to <paramref name="count"/>
    /// new entries, waiting at most <paramref name="block"/> for the first (<see cref="TimeSpan.Zero"/>: no wait, the
    /// caller knows a backlog is there). Both go in one round trip. When this returns the acks are applied; when it
    /// throws they may not be, and entries Redis handed over stay pending for the reclaim. A missing group or key
    /// fails with a <see cref="RedisServerException"/> whose message starts with <c>NOGROUP</c> or <c>UNBLOCKED</c>.
    /// </summary>
    ValueTask<StreamEntry[]> ReadAsync(
        string streamKey, string group, string consumer, int count, TimeSpan block, ReadOnlyMemory<string> acks = default);
}
