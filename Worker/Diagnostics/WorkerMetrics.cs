using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Worker.Diagnostics;

/// <summary>
/// The worker's instruments (meter <c>Worker</c>), exported in Prometheus text on <c>/metrics</c>:
/// <c>worker_jobs_{processed,failed,retried,dead_lettered,reclaimed,cancelled,rate_limited}_total</c>, <c>worker_consumers_removed_total</c>,
/// <c>worker_job_duration_seconds</c>,
/// and gauges <c>worker_stream_{lag,pending,oldest_pending_age_seconds}</c>, <c>worker_jobs_in_flight</c>.
/// Every series carries <c>job_type</c>. One per host, its meter made by the host's <see cref="IMeterFactory"/>.
/// </summary>
internal sealed class WorkerMetrics
{
    public const string MeterName = "Worker";

    /// <summary>The meter the gauges of other parts are made on.</summary>
    public Meter Meter { get; }

    private readonly Counter<long> _processed;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _retried;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _reclaimed;
    private readonly Counter<long> _consumersRemoved;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _schedulesFired;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _cancelled;

    public WorkerMetrics(IMeterFactory meters)
    {
        Meter = meters.Create(MeterName);
        _processed = Meter.CreateCounter<long>("worker.jobs.processed", description: "Jobs that succeeded");
        _failed = Meter.CreateCounter<long>("worker.jobs.failed", description: "Failed attempts");
        _retried = Meter.CreateCounter<long>("worker.jobs.retried", description: "Retries started or scheduled");
        _deadLettered = Meter.CreateCounter<long>("worker.jobs.dead_lettered", description: "Jobs moved to the dead-letter stream");
        _reclaimed = Meter.CreateCounter<long>("worker.jobs.reclaimed", description: "Entries reclaimed from dead consumers");
        _consumersRemoved = Meter.CreateCounter<long>("worker.consumers.removed", description: "Consumers removed from their group after they left");
        _duration = Meter.CreateHistogram<double>(
        "worker.job.duration", unit: "s", description: "Handler time of one execution",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30] });
        _schedulesFired = Meter.CreateCounter<long>("worker.schedules.fired", description: "Occurrences of recurring schedules this replica enqueued");
        _rateLimited = Meter.CreateCounter<long>("worker.jobs.rate_limited", description: "Jobs the fleet-wide rate limit held back before they started");
        _cancelled = Meter.CreateCounter<long>("worker.jobs.cancelled", description: "Jobs that ended cancelled here (before or while running)");
    }

    public void RecordSucceeded(string jobType, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>("job_type", jobType);
        _processed.Add(1, tag);
        _duration.Record(duration.TotalSeconds, tag);
    }

    public void RecordFailed(string jobType, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>("job_type", jobType);
        _failed.Add(1, tag);
        _duration.Record(duration.TotalSeconds, tag);
    }

    public void RecordScheduleFired(string schedule) => _schedulesFired.Add(1, new KeyValuePair<string, object?>("schedule", schedule));

    public void RecordRetried(string jobType) => _retried.Add(1, new KeyValuePair<string, object?>("job_type", jobType));

    public void RecordDeadLettered(string jobType, string reason) =>
        _deadLettered.Add(1, new KeyValuePair<string, object?>("job_type", jobType), new KeyValuePair<string, object?>("reason", reason));

    public void RecordReclaimed(string jobType, int count) =>
        _reclaimed.Add(count, new KeyValuePair<string, object?>("job_type", jobType));

    public void RecordConsumerRemoved(string jobType) =>
        _consumersRemoved.Add(1, new KeyValuePair<string, object?>("job_type", jobType));

    public void RecordRateLimited(string jobType, int count)
    {
        if (count > 0)
        {
            _rateLimited.Add(count, new KeyValuePair<string, object?>("job_type", jobType));
        }
    }

    public void RecordCancelled(string jobType, bool wasRunning) =>
        _cancelled.Add(1, new KeyValuePair<string, object?>("job_type", jobType), new KeyValuePair<string, object?>("running", wasRunning));

    public static long Now() => Stopwatch.GetTimestamp();
}
