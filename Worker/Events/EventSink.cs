using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Worker.Events;

/// <summary>
/// Where events go: a pub/sub channel (at-most-once: only connected subscribers see it) and, when configured, the
/// capped events stream as well, where a subscriber that was offline can catch up by id. Never throws.
/// </summary>
internal sealed class EventSink(IConnectionMultiplexer redis, IOptions<EventOptions> options)
{
    private readonly EventOptions _events = options.Value;

    public void Publish(string channel, string type, byte[] json)
    {
        var db = redis.GetDatabase();
        // Fire-and-forget: queued on the multiplexer, never awaited on a job's path; a lost event never fails a job.
        db.Publish(RedisChannel.Literal(channel), json, CommandFlags.FireAndForget);
        if (!string.IsNullOrEmpty(_events.Stream))
        {
            db.StreamAdd(
                _events.Stream,
                [new NameValueEntry("channel", channel), new NameValueEntry("type", type), new NameValueEntry("data", json)],
                maxLength: (int)Math.Min(int.MaxValue, _events.StreamMaxLength),
                useApproximateMaxLength: true,
                flags: CommandFlags.FireAndForget);
        }
    }
}
