namespace Worker.Hosting;

/// <summary>The metrics and health listener, bound from <c>Worker:Http</c>.</summary>
internal sealed class HttpOptions
{
    public const string SectionName = "Worker:Http";

    /// <summary>Port of <c>/metrics</c>, <c>/health/live</c> and <c>/health/ready</c>; 0 turns the listener off.</summary>
    public int Port { get; set; } = 9090;

    /// <summary>Host part of the listener prefix: <c>*</c> (all interfaces, as a pod needs) or an address such as 127.0.0.1.</summary>
    public string Host { get; set; } = "*";

    /// <summary>A job type with lag and no finished job for this long makes the worker unready: 5 minutes.</summary>
    public TimeSpan StuckAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A consumer loop that has not beaten for this long makes the worker not live: 30 seconds.</summary>
    public TimeSpan LivenessTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often stream gauges (lag, pending, oldest pending age) are read from Redis: 5 seconds.</summary>
    public TimeSpan StatsInterval { get; set; } = TimeSpan.FromSeconds(5);

    public string Prefix => $"http://{Host}:{Port}/";
}
