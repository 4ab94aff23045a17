using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Worker.Hosting;

namespace Worker.Events;

/// <summary>
/// Publishes lifecycle events on Redis pub/sub after the job's effects are committed. Pub/sub is at-most-once:
/// a subscriber that is not connected misses the event. Publishing never fails a job.
/// </summary>
internal sealed class JobEventPublisher(IConnectionMultiplexer redis, IOptions<WorkerOptions> options)
{
    private readonly EventOptions _events = options.Value.Events;

    public void Publish(JobEvent jobEvent)
    {
        var channel = jobEvent.Type switch
        {
            JobEvent.Succeeded => _events.SucceededChannel,
            JobEvent.Failed => _events.FailedChannel,
            JobEvent.DeadLettered => _events.DeadLetteredChannel,
            _ => null,
        };
        if (string.IsNullOrEmpty(channel))
        {
            return;
        }

        var json = JsonSerializer.SerializeToUtf8Bytes(jobEvent, EventsJsonContext.Default.JobEvent);
        // Fire-and-forget: queued on the multiplexer's pipe, never awaited on the job's path.
        redis.GetDatabase().Publish(RedisChannel.Literal(channel), json, CommandFlags.FireAndForget);
    }
}
