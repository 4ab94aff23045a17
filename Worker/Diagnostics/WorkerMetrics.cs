using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Worker.Diagnostics;

/// <summary>
/// The worker's instruments (meter <c>Worker</c>), exported in Prometheus text on <c>/metrics</c>:
/// <c>worker_jobs_{processed,failed,retried,dead_lettered,reclaimed,cancelled,rate_limited}_total</c>, <c>worker_consumers_removed_total</c>,
/// <c>worker_job_duration_seconds</c>,
/// and gauges <c>worker_stream_{lag,pending,oldest_pending_age_seconds}</c>, <c>worker_jobs_in_flight</c>.
/// Every series carries <c>job_type</c>.
/// </summary>
internal static class WorkerMetrics
{
    public const string MeterName = "Worker";

    public static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Processed = Meter.CreateCounter<long>("worker.jobs.processed", description: "Jobs that succeeded");
    private static readonly Counter<long> Failed = Meter.CreateCounter<long>("worker.jobs.failed", description: "Failed attempts");
    private static readonly Counter<long> Retried = Meter.CreateCounter<long>("worker.jobs.retried", description: "Retries started or scheduled");
    private static readonly Counter<long> DeadLettered = Meter.CreateCounter<long>("worker.jobs.dead_lettered", description: "Jobs moved to the dead-letter stream");
    private static readonly Counter<long> Reclaimed = Meter.CreateCounter<long>("worker.jobs.reclaimed", description: "Entries reclaimed from dead consumers");
    private static readonly Counter<long> ConsumersRemoved = Meter.CreateCounter<long>("worker.consumers.removed", description: "Consumers removed from their group after they left");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(
        "worker.job.duration", unit: "s", description: "Handler time of one execution",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30] });

    public static void RecordSucceeded(string jobType, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>("job_type", jobType);
        Processed.Add(1, tag);
        Duration.Record(duration.TotalSeconds, tag);
    }

    public static void RecordFailed(string jobType, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>("job_type", jobType);
        Failed.Add(1, tag);
        Duration.Record(duration.TotalSeconds, tag);
    }

    private static readonly Counter<long> SchedulesFired = Meter.CreateCounter<long>("worker.schedules.fired", description: "Occurrences of recurring schedules this replica enqueued");

    public static void RecordScheduleFired(string schedule) => SchedulesFired.Add(1, new KeyValuePair<string, object?>("schedule", schedule));

    public static void RecordRetried(string jobType) => Retried.Add(1, new KeyValuePair<string, object?>("job_type", jobType));

    public static void RecordDeadLettered(string jobType, string reason) =>
        DeadLettered.Add(1, new KeyValuePair<string, object?>("job_type", jobType), new KeyValuePair<string, object?>("reason", reason));

    public static void RecordReclaimed(string jobType, int count) =>
        Reclaimed.Add(count, new KeyValuePair<string, object?>("job_type", jobType));

    public static void RecordConsumerRemoved(string jobType) =>
        ConsumersRemoved.Add(1, new KeyValuePair<string, object?>("job_type", jobType));

    private static readonly Counter<long> RateLimited = Meter.CreateCounter<long>("worker.jobs.rate_limited", description: "Jobs the fleet-wide rate limit held back before they started");
    private static readonly Counter<long> Cancelled = Meter.CreateCounter<long>("worker.jobs.cancelled", description: "Jobs that ended cancelled here (before or while running)");

    public static void RecordRateLimited(string jobType, int count)
    {
        if (count > 0)
        {
            RateLimited.Add(count, new KeyValuePair<string, object?>("job_type", jobType));
        }
    }

    public static void RecordCancelled(string jobType, bool wasRunning) =>
        Cancelled.Add(1, new KeyValuePair<string, object?>("job_type", jobType), new KeyValuePair<string, object?>("running", wasRunning));

    public static long Now() => Stopwatch.GetTimestamp();
}
