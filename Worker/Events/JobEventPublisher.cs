using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Worker.Events;

/// <summary>
/// Publishes lifecycle events on Redis pub/sub after the job's effects are committed. Pub/sub is at-most-once:
/// a subscriber that is not connected misses the event. Publishing never fails a job.
/// </summary>
internal sealed class JobEventPublisher(EventSink sink, IOptions<EventOptions> options)
{
    private readonly EventOptions _events = options.Value;

    /// <summary>Whether events of this type go anywhere (so a caller can skip building one).</summary>
    public bool Publishes(string eventType) => !string.IsNullOrEmpty(Channel(eventType));

    public void Publish(JobEvent jobEvent)
    {
        var channel = Channel(jobEvent.Type);
        if (string.IsNullOrEmpty(channel))
        {
            return;
        }

        sink.Publish(channel!, jobEvent.Type, JsonSerializer.SerializeToUtf8Bytes(jobEvent, EventsJsonContext.Default.JobEvent));
    }

    private string? Channel(string eventType) => eventType switch
    {
        JobEvent.Succeeded => _events.SucceededChannel,
        JobEvent.Failed => _events.FailedChannel,
        JobEvent.DeadLettered => _events.DeadLetteredChannel,
        JobEvent.Cancelled => _events.CancelledChannel,
        _ => null,
    };
}
