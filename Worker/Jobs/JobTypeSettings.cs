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

    /// <summary>How many streams the job type is spread over (<see cref="JobTypeOptions.Partitions"/>).</summary>
    public int Partitions { get; init; } = 1;

    /// <summary>Which of them these settings are for: 0 is the configured stream, the others <see cref="PartitionStreamKey"/>.</summary>
    public int Partition { get; init; }

    /// <summary>Whether the type has high and low lanes beside the normal one (<see cref="JobTypeOptions.Priorities"/>).</summary>
    public bool Priorities { get; init; }

    /// <summary>The lane these settings are for: normal is the partition's stream, high and low <c>&lt;stream&gt;:high</c> and <c>:low</c>.</summary>
    public JobPriority Lane { get; init; } = JobPriority.Normal;

    /// <summary>Fleet-wide starts per period; <c>Limit</c> 0: none.</summary>
    public RateLimitOptions RateLimit { get; init; } = new();

    /// <summary>The configured stream of the job type (its first partition's normal lane): the base of its type-wide keys.</summary>
    public required string TypeStreamKey { get; init; }

    /// <summary>Sorted set of cancelled job ids of the whole job type, scored by when they were cancelled (Unix ms).</summary>
    public string CancelledKey => TypeStreamKey + ":cancelled";

    /// <summary>Pub/sub channel on which a cancel reaches the replica that runs the job.</summary>
    public string CancelChannel => TypeStreamKey + ":cancel";

    /// <summary>Sorted set of the job type's recent starts, the fleet-wide rate limit's window.</summary>
    public string RateKey => TypeStreamKey + ":rate";

    /// <summary>
    /// What tells apart the id-less jobs (known by their entry id) of this stream from those of the type's other streams,
    /// whose entry ids may be equal: <c>:p&lt;n&gt;</c> beyond the first partition, <c>:high</c> or <c>:low</c> in a lane.
    /// Empty for the configured stream.
    /// </summary>
    public string EntryJobIdSuffix =>
        (Partition > 0 ? $":p{Partition}" : string.Empty) + (Lane == JobPriority.Normal ? string.Empty : ":" + JobPriorities.ToText(Lane));

    /// <summary>Dead letters: <c>&lt;stream&gt;:dlq</c>, same hash tag as the stream.</summary>
    public string DeadLetterKey => StreamKey + ":dlq";

    /// <summary>Sorted set of retries waiting for their time, scored by due time in Unix milliseconds.</summary>
    public string DelayedKey => StreamKey + ":delayed";

    /// <summary>
    /// Hash of how often each redelivered entry started here, kept only without job state (the <c>jobs</c> row counts
    /// starts otherwise): what tells a job that kills its worker from one whose holders went away.
    /// </summary>
    public string StartsKey => StreamKey + ":starts";

    /// <summary>
    /// Whether <paramref name="delivery"/>'s starts are counted in <see cref="StartsKey"/>: without job state, for a
    /// redelivery (first deliveries cost nothing). The executor records them; the entry's fate forgets them.
    /// </summary>
    public bool CountsStartsOf(Delivery delivery) => !PersistState && delivery.DeliveryCount > 1;

    /// <summary>Hash of the last occurrence each recurring schedule enqueued into this stream (Unix ms, by schedule name).</summary>
    public string SchedulesKey => StreamKey + ":schedules";

    /// <summary>Lock that lets one replica at a time remove the consumers that left the group.</summary>
    public string PruneLockKey => StreamKey + ":prune-lock";

    /// <summary>Sorted set of this group's live consumers by when each last said so (Unix ms).</summary>
    public string AliveKey => StreamKey + ":consumers-alive";

    public static string DefaultStreamKey(string jobType) => $"jobs:{{{jobType}}}";

    /// <summary>
    /// The stream of partition <paramref name="partition"/> of a job type whose stream is <paramref name="streamKey"/>:
    /// the key itself for 0; for the others <c>:p&lt;n&gt;</c> added inside its hash tag (<c>jobs:{noop}</c> gives
    /// <c>jobs:{noop:p1}</c>), or the whole key made a hash tag when it has none (<c>{key:p1}</c>). Each then hashes to
    /// its own cluster slot, and every key derived from it shares that slot.
    /// </summary>
    public static string PartitionStreamKey(string streamKey, int partition)
    {
        if (partition == 0)
        {
            return streamKey;
        }

        var open = streamKey.IndexOf('{');
        var close = open >= 0 ? streamKey.IndexOf('}', open + 1) : -1;
        return close > open + 1
            ? $"{streamKey[..close]}:p{partition}{streamKey[close..]}"
            : $"{{{streamKey}:p{partition}}}";
    }

    /// <summary>
    /// The partition a producer puts a job in: with a job id, FNV-1a (32 bits) of the id's UTF-8 bytes modulo the
    /// partition count, so one job id always lands in one partition (its duplicate is found there); without one, any.
    /// </summary>
    public static int PartitionOf(string jobId, int partitions)
    {
        var hash = 2166136261u;
        Span<byte> buffer = stackalloc byte[256];
        var bytes = System.Text.Encoding.UTF8.GetByteCount(jobId) <= buffer.Length
            ? buffer[..System.Text.Encoding.UTF8.GetBytes(jobId, buffer)]
            : System.Text.Encoding.UTF8.GetBytes(jobId);
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 16777619u;
        }

        return (int)(hash % (uint)partitions);
    }

    /// <summary>The settings of every partition of this job type (normal lane), the first one's stream being the configured one.</summary>
    public IReadOnlyList<JobTypeSettings> AllPartitions() =>
        [.. Enumerable.Range(0, Partitions).Select(p => this with { StreamKey = PartitionStreamKey(TypeStreamKey, p), Partition = p })];

    /// <summary>
    /// Every stream of this job type: each partition, and with <see cref="Priorities"/> each one's high and low lane
    /// beside it (same hash tag, so on a cluster a partition's lanes share its slot). Each has its own group, dead
    /// letters and delayed set.
    /// </summary>
    public IReadOnlyList<JobTypeSettings> AllStreams() =>
        Priorities
            ? [.. AllPartitions().SelectMany(p => JobPriorities.All.Select(lane => p.InLane(lane)))]
            : AllPartitions();

    /// <summary>These settings for lane <paramref name="lane"/> of the same partition.</summary>
    public JobTypeSettings InLane(JobPriority lane)
    {
        var partitionStream = PartitionStreamKey(TypeStreamKey, Partition);
        return this with { Lane = lane, StreamKey = lane == JobPriority.Normal ? partitionStream : $"{partitionStream}:{JobPriorities.ToText(lane)}" };
    }

    public static JobTypeSettings Resolve(string jobType, JobTypeOptions? options)
    {
        options ??= new JobTypeOptions();
        var stream = string.IsNullOrWhiteSpace(options.Stream) ? DefaultStreamKey(jobType) : options.Stream;
        return new JobTypeSettings
        {
            JobType = jobType,
            StreamKey = stream,
            TypeStreamKey = stream,
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
            Partitions = Math.Max(1, options.Partitions),
            Priorities = options.Priorities,
            RateLimit = options.RateLimit,
        };
    }
}
