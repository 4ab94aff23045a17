namespace Worker.Jobs;

/// <summary>The options of one job type with every default applied and every Redis key derived.</summary>
internal sealed record JobTypeSettings
{
    public const string DefaultGroup = "workers";

    public required string JobType { get; init; }
    public required string StreamKey { get; init; }
    public required string Group { get; init; }
    public required int Concurrency { get; init; }
    public required int BatchSize { get; init; }
    public required TimeSpan Prefetch { get; init; }
    public required TimeSpan HandlerTimeout { get; init; }
    public required TimeSpan VisibilityTimeout { get; init; }
    public required TimeSpan ClaimInterval { get; init; }
    public required TimeSpan BlockTime { get; init; }
    public required int MaxDeliveries { get; init; }
    public required TimeSpan TrimInterval { get; init; }
    public required TimeSpan IdleConsumerTimeout { get; init; }
    public required long MaxBacklog { get; init; }
    public required bool PersistState { get; init; }
    public required RetryOptions Retry { get; init; }

    /// <summary>With job state: how long a first execution runs before its begin row is written (zero: before it starts).</summary>
    public TimeSpan RecordRunningAfter { get; init; } = JobTypeOptions.DefaultRecordRunningAfter;

    /// <summary>Dead letters: <c>&lt;stream&gt;:dlq</c>, same hash tag as the stream.</summary>
    public string DeadLetterKey => StreamKey + ":dlq";

    /// <summary>Sorted set of retries waiting for their time, scored by due time in Unix milliseconds.</summary>
    public string DelayedKey => StreamKey + ":delayed";

    /// <summary>
    /// Hash of how often each redelivered entry started here, kept only without job state (the <c>jobs</c> row counts
    /// starts otherwise): what tells a job that kills its worker from one whose holders went away.
    /// </summary>
    public string StartsKey => StreamKey + ":starts";

    /// <summary>Lock that lets one replica at a time remove the consumers that left the group.</summary>
    public string PruneLockKey => StreamKey + ":prune-lock";

    /// <summary>Sorted set of this group's live consumers by when each last said so (Unix ms).</summary>
    public string AliveKey => StreamKey + ":consumers-alive";

    public static string DefaultStreamKey(string jobType) => $"jobs:{{{jobType}}}";

    public static JobTypeSettings Resolve(string jobType, JobTypeOptions? options)
    {
        options ??= new JobTypeOptions();
        return new JobTypeSettings
        {
            JobType = jobType,
            StreamKey = string.IsNullOrWhiteSpace(options.Stream) ? DefaultStreamKey(jobType) : options.Stream,
            Group = string.IsNullOrWhiteSpace(options.Group) ? DefaultGroup : options.Group,
            Concurrency = options.Concurrency <= 0 ? JobTypeOptions.DefaultConcurrency : options.Concurrency,
            BatchSize = options.BatchSize,
            Prefetch = options.Prefetch,
            HandlerTimeout = options.HandlerTimeout,
            VisibilityTimeout = options.VisibilityTimeout,
            ClaimInterval = options.ClaimInterval,
            BlockTime = options.BlockTime,
            MaxDeliveries = options.MaxDeliveries,
            TrimInterval = options.TrimInterval,
            IdleConsumerTimeout = options.IdleConsumerTimeout,
            MaxBacklog = options.MaxBacklog,
            PersistState = options.PersistState,
            Retry = options.Retry,
            RecordRunningAfter = options.RecordRunningAfter,
        };
    }
}
