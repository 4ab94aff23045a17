namespace Worker.Events;

/// <summary>Lifecycle events on Redis pub/sub, bound from <c>Worker:Events</c>. An empty channel turns that event off.</summary>
internal sealed class EventOptions
{
    public const string SectionName = "Worker:Events";

    public const string DefaultSucceededChannel = "jobs:events:succeeded";
    public const string DefaultFailedChannel = "jobs:events:failed";
    public const string DefaultDeadLetteredChannel = "jobs:events:dead_lettered";
    public const string DefaultCancelledChannel = "jobs:events:cancelled";

    public string? SucceededChannel { get; set; } = DefaultSucceededChannel;

    public string? FailedChannel { get; set; } = DefaultFailedChannel;

    public string? DeadLetteredChannel { get; set; } = DefaultDeadLetteredChannel;

    public string? CancelledChannel { get; set; } = DefaultCancelledChannel;

    /// <summary>The capped stream every event is also appended to; empty turns it off. Default <c>events</c>.</summary>
    public string? Stream { get; set; } = "events";

    /// <summary>Approximate number of events the stream keeps (XADD MAXLEN ~).</summary>
    public long StreamMaxLength { get; set; } = 100_000;
}
