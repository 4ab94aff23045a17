using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Worker.Configuration;

namespace Worker.Streams;

/// <summary>
/// Writes that must survive a failover: sent on a connection of their own, each followed by <c>WAIT 1</c> on that
/// connection to the key's master when the master has a replica (<c>Worker:Redis:WaitForReplica</c>). <c>WAIT</c>
/// blocks the connection it is sent on until a replica has every write sent before it, so it cannot go on the shared
/// multiplexer, whose commands would queue behind it.
/// </summary>
internal sealed partial class ReplicatedWrites(
    IOptions<ConnectionOptions> connections, IOptions<RedisWriteOptions> options, TimeProvider time, ILogger<ReplicatedWrites> logger)
    : IAsyncDisposable
{
    /// <summary>How long a master's replica count is trusted before <c>ROLE</c> is asked again: 5 seconds.</summary>
    private static readonly TimeSpan ReplicaCheckInterval = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private readonly Dictionary<EndPoint, (int Replicas, long CheckedAt)> _replicas = [];
    private Task<ConnectionMultiplexer>? _connection;

    private RedisWriteOptions Settings => options.Value;

    public bool Enabled => Settings.WaitForReplica;

    public TimeSpan Timeout => Settings.ReplicaTimeout;

    /// <summary>The database of the dedicated connection: a write sent here is the one <see cref="ConfirmAsync"/> waits for.</summary>
    public async Task<IDatabase> DatabaseAsync() => (await ConnectAsync()).GetDatabase();

    /// <summary>
    /// Waits until one replica of <paramref name="key"/>'s master has every write sent so far on the dedicated
    /// connection. True when one confirmed or the master has none (nothing to wait for); false when none did in time.
    /// </summary>
    public async Task<bool> ConfirmAsync(RedisKey key)
    {
        var server = (await ConnectAsync()).GetServer(key, flags: CommandFlags.DemandMaster);
        if (await ReplicasAsync(server) == 0)
        {
            return true;
        }

        var confirmed = (long)await server.ExecuteAsync("WAIT", 1, (long)Timeout.TotalMilliseconds);
        if (confirmed == 0)
        {
            // Ask again next time: the replica may be gone for good.
            lock (_gate)
            {
                _replicas.Remove(server.EndPoint);
            }
        }

        return confirmed > 0;
    }

    /// <summary>As <see cref="ConfirmAsync"/>, throwing <see cref="ReplicaWriteTimeoutException"/> when no replica confirmed.</summary>
    public async Task RequireAsync(RedisKey key)
    {
        if (!await ConfirmAsync(key))
        {
            throw new ReplicaWriteTimeoutException(key!, Timeout);
        }
    }

    /// <summary>As <see cref="ConfirmAsync"/>, only logging when no replica confirmed (a move the caller cannot undo).</summary>
    public async Task ConfirmOrWarnAsync(RedisKey key, string what)
    {
        if (!await ConfirmAsync(key))
        {
            LogNotConfirmed(logger, what, key!, Timeout.TotalMilliseconds);
        }
    }

    private async Task<int> ReplicasAsync(IServer server)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            if (_replicas.TryGetValue(server.EndPoint, out var known) && time.GetElapsedTime(known.CheckedAt, now) < ReplicaCheckInterval)
            {
                return known.Replicas;
            }
        }

        var replicas = await server.RoleAsync() is Role.Master master ? master.Replicas.Count : 0;
        lock (_gate)
        {
            _replicas[server.EndPoint] = (replicas, now);
        }

        return replicas;
    }

    private Task<ConnectionMultiplexer> ConnectAsync()
    {
        lock (_gate)
        {
            if (_connection is { IsFaulted: false, IsCanceled: false } connection)
            {
                return connection;
            }

            var redis = ConfigurationOptions.Parse(connections.Value.Redis!);
            redis.AbortOnConnectFail = false;
            redis.ClientName = $"worker-{Environment.MachineName}-{Environment.ProcessId}-replicated";
            // WAIT holds its reply for up to the replica timeout: the client must wait longer than that.
            var timeout = (int)(Timeout + TimeSpan.FromSeconds(5)).TotalMilliseconds;
            redis.AsyncTimeout = Math.Max(redis.AsyncTimeout, timeout);
            redis.SyncTimeout = Math.Max(redis.SyncTimeout, timeout);
            return _connection = ConnectionMultiplexer.ConnectAsync(redis);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is { IsCompletedSuccessfully: true } connection)
        {
            await connection.Result.DisposeAsync();
        }
    }

    [LoggerMessage(EventId = 1104, EventName = "ReplicaNotConfirmed", Level = LogLevel.Warning,
        Message = "No replica confirmed the {What} on {StreamKey} within {TimeoutMs:0} ms: a failover now would undo it and deliver the job again")]
    private static partial void LogNotConfirmed(ILogger logger, string what, string streamKey, double timeoutMs);
}
