using Worker.Jobs;
using Worker.Scheduling;
using Worker.Streams;

namespace Worker.Hosting;

/// <summary>The <c>Worker</c> section of the configuration.</summary>
internal sealed class WorkerOptions
{
    public const string SectionName = "Worker";

    /// <summary>How long in-flight jobs may run after a stop request before they are left pending for a peer: 20 seconds.</summary>
    public static readonly TimeSpan DefaultDrainTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Prefix of consumer names; empty means the host name. The process id and loop index follow it.</summary>
    public string? ConsumerName { get; set; }

    /// <summary>Must stay shorter than the host's shutdown timeout, which the host sets from it.</summary>
    public TimeSpan DrainTimeout { get; set; } = DefaultDrainTimeout;

    /// <summary>What a write to Redis waits for (<c>Worker:Redis</c>).</summary>
    public RedisWriteOptions Redis { get; set; } = new();

    /// <summary>Job types by name, e.g. <c>Worker:Jobs:link-metadata</c>.</summary>
    public Dictionary<string, JobTypeOptions> Jobs { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Recurring jobs by name, e.g. <c>Worker:Schedules:nightly-refresh</c>.</summary>
    public Dictionary<string, ScheduleOptions> Schedules { get; set; } = new(StringComparer.Ordinal);
}
