using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Worker.Diagnostics;
using Worker.Jobs;
using Worker.Streams;

namespace Worker.Scheduling;

/// <summary>
/// Enqueues the recurring jobs of <c>Worker:Schedules</c>. Every replica runs it; each occurrence is enqueued once
/// across them: one script checks and records the schedule's last occurrence in Redis and appends the job
/// (<see cref="StreamScripts.FireSchedule"/>), whose id is made of the schedule's name and the occurrence's time.
/// After downtime only the latest missed occurrence is enqueued; a schedule never seen before starts with its next one.
/// </summary>
internal sealed partial class ScheduleService(
    IConnectionMultiplexer redis, JobTypeCatalog jobTypes, IReadOnlyDictionary<string, ScheduleOptions> schedules, IEnumerable<IJobHandler> handlers,
    WorkerMetrics metrics, TimeProvider time,
    ILogger<ScheduleService> logger) : BackgroundService
{
    /// <summary>Longest sleep between two looks, so a changed clock or a failed fire is looked at again soon.</summary>
    private static readonly TimeSpan MaxSleep = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, DateTimeOffset?> _next = new(StringComparer.Ordinal);
    private IReadOnlyList<Schedule>? _schedules;
    private int _tried;

    /// <summary>Occurrences this replica tried to enqueue (enqueued here or found done by a peer).</summary>
    public int Tried => Volatile.Read(ref _tried);

    /// <summary>The enabled schedules, resolved (the options validator has refused any that are not).</summary>
    public static IReadOnlyList<Schedule> Resolve(IReadOnlyDictionary<string, ScheduleOptions> schedules, IEnumerable<string> knownTypes)
    {
        var known = knownTypes.ToHashSet(StringComparer.Ordinal);
        var failures = new List<string>();
        return [.. schedules.Where(s => s.Value.Enabled).OrderBy(s => s.Key, StringComparer.Ordinal)
            .Select(s => Schedule.TryResolve(s.Key, s.Value, known.Contains, failures)).OfType<Schedule>()];
    }

    /// <summary>The stream a schedule's occurrence goes to (its job id's partition) and the settings that name its keys.</summary>
    public static JobTypeSettings Target(JobTypeCatalog jobTypes, Schedule schedule, string jobId)
    {
        var settings = jobTypes.Resolve(schedule.Type);
        return settings.Partitions == 1 ? settings : settings.AllPartitions()[JobTypeSettings.PartitionOf(jobId, settings.Partitions)];
    }

    /// <summary>The last occurrence enqueued, over every partition of the schedule's type; null when none ever was.</summary>
    public static async Task<DateTimeOffset?> LastFiredAsync(IDatabase db, JobTypeCatalog jobTypes, Schedule schedule)
    {
        long? last = null;
        var settings = jobTypes.Resolve(schedule.Type);
        foreach (var partition in settings.AllPartitions())
        {
            if ((long?)await db.HashGetAsync(partition.SchedulesKey, schedule.Name) is { } ms && (last is null || ms > last))
            {
                last = ms;
            }
        }

        return last is { } found ? DateTimeOffset.FromUnixTimeMilliseconds(found) : null;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (Schedules.Count == 0)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            var wake = await LookAsync(now);
            try
            {
                await Task.Delay(wake > now ? wake - now : TimeSpan.Zero, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private IReadOnlyList<Schedule> Schedules => _schedules ??= Resolve(schedules, handlers.Select(h => h.JobType));

    /// <summary>
    /// One look at every schedule at <paramref name="now"/>: enqueues what is due (the latest occurrence up to now, once
    /// across replicas) and returns when to look again (at the next occurrence, at most a minute away; a second after
    /// Redis failed).
    /// </summary>
    public async Task<DateTimeOffset> LookAsync(DateTimeOffset now)
    {
        var wake = now + MaxSleep;
        foreach (var schedule in Schedules)
        {
            try
            {
                if (!_next.TryGetValue(schedule.Name, out var due))
                {
                    // After downtime the occurrence after the last one enqueued is due already: the latest missed one is
                    // enqueued below. A schedule never enqueued starts with its next occurrence.
                    var last = await LastFiredAsync(redis.GetDatabase(), jobTypes, schedule);
                    _next[schedule.Name] = due = schedule.NextAfter(last ?? now);
                }

                if (due is { } at && at <= now)
                {
                    await FireAsync(schedule, schedule.LatestUntil(at, now), now);
                    _next[schedule.Name] = due = schedule.NextAfter(now);
                }

                if (due is { } upcoming && upcoming < wake)
                {
                    wake = upcoming;
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogFireFailed(logger, e, schedule.Name);
                wake = now + RetryAfterFailure < wake ? now + RetryAfterFailure : wake;
            }
        }

        return wake;
    }

    private async Task FireAsync(Schedule schedule, DateTimeOffset occurrence, DateTimeOffset now)
    {
        var jobId = schedule.JobId(occurrence);
        var target = Target(jobTypes, schedule, jobId);
        RedisValue[] args =
        [
            schedule.Name, occurrence.ToUnixTimeMilliseconds(),
            StreamFields.Type, schedule.Type, StreamFields.Payload, schedule.Payload, StreamFields.JobId, jobId,
            StreamFields.EnqueuedAt, now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
        ];
        var fired = (long)await redis.GetDatabase().ScriptEvaluateAsync(StreamScripts.FireSchedule, [target.StreamKey, target.SchedulesKey], args) == 1;
        Interlocked.Increment(ref _tried);
        if (fired)
        {
            metrics.RecordScheduleFired(schedule.Name);
            LogFired(logger, schedule.Name, schedule.Type, jobId, occurrence);
        }
    }

    [LoggerMessage(EventId = 1301, EventName = "ScheduleFired", Level = LogLevel.Information,
        Message = "Schedule {Schedule} enqueued {JobType} job {JobId} for {Occurrence:O}")]
    private static partial void LogFired(ILogger logger, string schedule, string jobType, string jobId, DateTimeOffset occurrence);

    [LoggerMessage(EventId = 1302, EventName = "ScheduleFireFailed", Level = LogLevel.Warning,
        Message = "Schedule {Schedule} could not reach Redis; trying again in a second")]
    private static partial void LogFireFailed(ILogger logger, Exception error, string schedule);
}
