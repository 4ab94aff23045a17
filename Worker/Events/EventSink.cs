using System.Threading.Channels;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Worker.Events;

/// <summary>
/// Where events go: a pub/sub channel (at-most-once: only connected subscribers see it) and, when configured, the
/// capped events stream as well, where a subscriber that was offline can catch up by id. Never throws, never waits.
/// <para>
/// Events queue here and one loop sends them in order: a lone event as its own <c>PUBLISH</c> (and <c>XADD</c>), and
/// the events that gathered while the previous send was out as one script that publishes each of them (subscribers
/// still get one message per event). A command per event cost a drain of no-op jobs at Concurrency 100 45% of its
/// speed (docs/benchmarks.md). While Redis is away the queue keeps the newest <see cref="MaxQueued"/> events.
/// </para>
/// </summary>
internal sealed class EventSink : IAsyncDisposable
{
    /// <summary>Events in one script call.</summary>
    private const int MaxBatch = 256;

    private const int MaxQueued = 100_000;

    /// <summary>KEYS: the events stream, or none. ARGV: its approximate length cap, then channel, type, data per event.</summary>
    private const string PublishMany = """
        local stream = KEYS[1]
        for i = 2, #ARGV, 3 do
          redis.call('PUBLISH', ARGV[i], ARGV[i + 2])
          if stream then
            redis.call('XADD', stream, 'MAXLEN', '~', ARGV[1], '*', 'channel', ARGV[i], 'type', ARGV[i + 1], 'data', ARGV[i + 2])
          end
        end
        return 0
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly EventOptions _events;
    private readonly Channel<QueuedEvent> _queue = Channel.CreateBounded<QueuedEvent>(
        new BoundedChannelOptions(MaxQueued) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest });
    private readonly Task _sender;

    public EventSink(IConnectionMultiplexer redis, IOptions<EventOptions> options)
    {
        (_redis, _events) = (redis, options.Value);
        _sender = Task.Run(SendLoopAsync);
    }

    public void Publish(string channel, string type, byte[] json) => _queue.Writer.TryWrite(new QueuedEvent(channel, type, json));

    /// <summary>Sends what is queued, then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _sender;
    }

    private async Task SendLoopAsync()
    {
        var batch = new List<QueuedEvent>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var queued))
            {
                batch.Add(queued);
            }

            try
            {
                // Awaited: the next batch gathers while this one is out.
                await SendAsync(batch);
            }
            catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
            {
                // A lost event never fails a job (pub/sub is at-most-once anyway).
            }

            batch.Clear();
        }
    }

    private Task SendAsync(List<QueuedEvent> batch)
    {
        var db = _redis.GetDatabase();
        var stream = _events.Stream;
        var maxLength = (int)Math.Min(int.MaxValue, _events.StreamMaxLength);
        if (batch is [var one])
        {
            var published = db.PublishAsync(RedisChannel.Literal(one.Channel), one.Json);
            if (string.IsNullOrEmpty(stream))
            {
                return published;
            }

            var added = db.StreamAddAsync(
                stream,
                [new NameValueEntry("channel", one.Channel), new NameValueEntry("type", one.Type), new NameValueEntry("data", one.Json)],
                maxLength: maxLength,
                useApproximateMaxLength: true);
            return Task.WhenAll(published, added);
        }

        var args = new RedisValue[1 + (3 * batch.Count)];
        args[0] = maxLength;
        for (var i = 0; i < batch.Count; i++)
        {
            (args[1 + (3 * i)], args[2 + (3 * i)], args[3 + (3 * i)]) = (batch[i].Channel, batch[i].Type, batch[i].Json);
        }

        return db.ScriptEvaluateAsync(PublishMany, string.IsNullOrEmpty(stream) ? [] : [(RedisKey)stream], args);
    }

    private readonly record struct QueuedEvent(string Channel, string Type, byte[] Json);
}
