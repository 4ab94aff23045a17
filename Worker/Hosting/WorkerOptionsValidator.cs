using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Worker.Configuration;
using Worker.Jobs;
using Worker.Scheduling;
using Worker.Streams;

namespace Worker.Hosting;

/// <summary>Checks every option at start; each failure names its configuration key and the rule it broke.</summary>
internal sealed class WorkerOptionsValidator(IEnumerable<IJobHandler> handlers, IConfiguration configuration) : IValidateOptions<WorkerOptions>
{
    private const int MaxBatchSize = 10_000;

    /// <summary>Longest rate-limit period: one day (the window is a sorted set of the starts within it).</summary>
    private static readonly TimeSpan MaxRatePeriod = TimeSpan.FromDays(1);
    private const int MaxConcurrency = 10_000;

    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        var failures = new List<string>();
        var known = handlers.Select(h => h.JobType).ToHashSet(StringComparer.Ordinal);
        const string root = WorkerOptions.SectionName;
        var jobsSection = configuration.GetSection($"{root}:Jobs");
        foreach (var job in jobsSection.GetChildren())
        {
            RawConfigurationCheck.Check(job, typeof(JobTypeOptions), failures);
        }

        RawConfigurationCheck.Check(configuration.GetSection($"{root}:Redis"), typeof(RedisWriteOptions), failures);
        foreach (var schedule in configuration.GetSection($"{root}:Schedules").GetChildren())
        {
            RawConfigurationCheck.Check(schedule, typeof(ScheduleOptions), failures);
        }

        foreach (var (scheduleName, schedule) in options.Schedules)
        {
            Schedule.TryResolve(scheduleName, schedule, known.Contains, failures);
        }
        if (options.Redis.ReplicaTimeout < TimeSpan.FromMilliseconds(1) || options.Redis.ReplicaTimeout > TimeSpan.FromMinutes(1))
        {
            failures.Add($"{root}:Redis:ReplicaTimeout must be between 00:00:00.001 and 00:01:00 (was {options.Redis.ReplicaTimeout})");
        }

        if (options.DrainTimeout <= TimeSpan.Zero || options.DrainTimeout > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{root}:DrainTimeout must be between 00:00:00.001 and 00:10:00 (was {options.DrainTimeout})");
        }

        foreach (var (type, job) in options.Jobs)
        {
            var key = $"{root}:Jobs:{type}";
            if (!known.Contains(type))
            {
                failures.Add($"{key}: no handler is registered for job type '{type}' (known: {string.Join(", ", known.Order())})");
                continue;
            }

            ValidateJob(failures, key, type, job);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>The rules of one job type's settings (<c>Worker:Jobs:&lt;type&gt;</c>).</summary>
    private static void ValidateJob(List<string> failures, string key, string type, JobTypeOptions job)
    {
        if (job.Concurrency > MaxConcurrency)
        {
            failures.Add($"{key}:Concurrency must be at most {MaxConcurrency} (was {job.Concurrency}; <= 0 means the default {JobTypeOptions.DefaultConcurrency})");
        }

        if (job.BatchSize is < 1 or > MaxBatchSize)
        {
            failures.Add($"{key}:BatchSize must be between 1 and {MaxBatchSize} (was {job.BatchSize})");
        }

        if (job.Prefetch < TimeSpan.Zero)
        {
            failures.Add($"{key}:Prefetch must not be negative (was {job.Prefetch}; zero holds one entry beyond the running ones)");
        }

        if (job.Partitions is < 1 or > JobTypeOptions.MaxPartitions)
        {
            failures.Add($"{key}:Partitions must be between 1 and {JobTypeOptions.MaxPartitions} (was {job.Partitions})");
        }

        if (job.RateLimit.Limit < 0)
        {
            failures.Add($"{key}:RateLimit:Limit must not be negative (was {job.RateLimit.Limit}; 0 is no limit)");
        }
        else if (job.RateLimit.Limit > 0 && (job.RateLimit.Period <= TimeSpan.Zero || job.RateLimit.Period > MaxRatePeriod))
        {
            failures.Add($"{key}:RateLimit:Period must be positive and at most {MaxRatePeriod} (was {job.RateLimit.Period})");
        }

        if (job.RecordRunningAfter < TimeSpan.Zero)
        {
            failures.Add($"{key}:RecordRunningAfter must not be negative (was {job.RecordRunningAfter}; zero writes the running row before each job starts)");
        }

        Positive(failures, $"{key}:HandlerTimeout", job.HandlerTimeout);
        Positive(failures, $"{key}:ClaimInterval", job.ClaimInterval);
        Positive(failures, $"{key}:BlockTime", job.BlockTime);
        if (job.VisibilityTimeout < TimeSpan.FromMilliseconds(300))
        {
            failures.Add($"{key}:VisibilityTimeout must be at least 00:00:00.300 (was {job.VisibilityTimeout})");
        }

        if (job.TrimInterval < TimeSpan.Zero)
        {
            failures.Add($"{key}:TrimInterval must be zero (off) or positive (was {job.TrimInterval})");
        }

        if (job.IdleConsumerTimeout != TimeSpan.Zero && job.IdleConsumerTimeout < job.BlockTime * 10)
        {
            failures.Add($"{key}:IdleConsumerTimeout must be zero (keep every consumer) or at least ten times BlockTime, {job.BlockTime * 10} (was {job.IdleConsumerTimeout})");
        }

        if (job.MaxDeliveries < 1)
        {
            failures.Add($"{key}:MaxDeliveries must be at least 1 (was {job.MaxDeliveries})");
        }

        if (job.MaxBacklog < 0)
        {
            failures.Add($"{key}:MaxBacklog must be 0 (no limit) or positive (was {job.MaxBacklog})");
        }

        if (job.Stream is { Length: > 0 } stream && stream.EndsWith(":dlq", StringComparison.Ordinal))
        {
            failures.Add($"{key}:Stream must not end in ':dlq', which names dead-letter streams (was '{stream}')");
        }

        if (job.Stream is { Length: > 0 } tagged && !HasHashTag(tagged))
        {
            failures.Add($"{key}:Stream must contain a hash tag such as {{{type}}} so its dead-letter and retry keys share one Redis Cluster slot (was '{tagged}')");
        }

        ValidateRetry(failures, key, job.Retry);
    }

    private static void ValidateRetry(List<string> failures, string key, RetryOptions retry)
    {
        if (retry.MaxAttempts < 1)
        {
            failures.Add($"{key}:Retry:MaxAttempts must be at least 1 (was {retry.MaxAttempts})");
        }

        if (retry.BaseDelay < TimeSpan.Zero)
        {
            failures.Add($"{key}:Retry:BaseDelay must not be negative (was {retry.BaseDelay})");
        }

        if (retry.MaxDelay < retry.BaseDelay)
        {
            failures.Add($"{key}:Retry:MaxDelay must be at least Retry:BaseDelay (was {retry.MaxDelay} < {retry.BaseDelay})");
        }

        if (retry.Factor < 1 || double.IsNaN(retry.Factor))
        {
            failures.Add($"{key}:Retry:Factor must be at least 1 (was {retry.Factor})");
        }
    }

    /// <summary>Redis Cluster hashes only the part inside the first non-empty <c>{...}</c>.</summary>
    private static bool HasHashTag(string key)
    {
        var open = key.IndexOf('{');
        var close = open < 0 ? -1 : key.IndexOf('}', open + 1);
        return close > open + 1;
    }

    private static void Positive(List<string> failures, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{key} must be positive (was {value})");
        }
    }
}
