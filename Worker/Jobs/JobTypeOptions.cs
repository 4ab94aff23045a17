namespace Worker.Jobs;

/// <summary>Per job type settings, bound from <c>Worker:Jobs:&lt;type&gt;</c>. Unset values take the defaults below.</summary>
internal sealed class JobTypeOptions
{
    /// <summary>Default number of jobs a replica runs at once for one job type (the seeds' metadata worker runs 3).</summary>
    public const int DefaultConcurrency = 3;

    /// <summary>
    /// Default cap on the entries read in one round trip, which is also the most a replica holds beyond its running
    /// ones. How many it holds below the cap follows the job duration (<see cref="Prefetch"/>).
    /// </summary>
    public const int DefaultBatchSize = 1000;

    /// <summary>
    /// Default work a replica holds beyond its running jobs, as time at the measured job duration: 150 ms. Fast jobs
    /// read in batches up to <see cref="BatchSize"/>; 100 ms jobs on 3 slots hold 5; jobs of a second or more hold 1.
    /// </summary>
    public static readonly TimeSpan DefaultPrefetch = TimeSpan.FromMilliseconds(150);

    /// <summary>Default time one execution of a handler may take: 30 seconds.</summary>
    public static readonly TimeSpan DefaultHandlerTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Default time an entry may stay pending without a heartbeat before a peer reclaims it: 15 seconds.</summary>
    public static readonly TimeSpan DefaultVisibilityTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Default pause between two looks for abandoned entries: 1 second.</summary>
    public static readonly TimeSpan DefaultClaimInterval = TimeSpan.FromSeconds(1);

    /// <summary>Default longest time one blocking read waits on Redis: 2 seconds.</summary>
    public static readonly TimeSpan DefaultBlockTime = TimeSpan.FromSeconds(2);

    /// <summary>Default pause between two trims of entries every group has acknowledged: 10 seconds.</summary>
    public static readonly TimeSpan DefaultTrimInterval = TimeSpan.FromSeconds(10);

    /// <summary>Default number of deliveries of one entry before it is dead-lettered as a suspected poison message.</summary>
    public const int DefaultMaxDeliveries = 5;

    /// <summary>
    /// Default idle time after which a consumer with nothing pending is removed from the group: 2 minutes. A live
    /// reader is seen at least every <see cref="BlockTime"/>; a replica that is gone never again.
    /// </summary>
    public static readonly TimeSpan DefaultIdleConsumerTimeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Default time a job runs before its <c>jobs</c> row says <c>running</c>: 1 second. A job that finishes sooner
    /// costs one write, its success; a longer one gets its begin row then, as every redelivered or retried one gets it
    /// before it starts.
    /// </summary>
    public static readonly TimeSpan DefaultRecordRunningAfter = TimeSpan.FromSeconds(1);

    /// <summary>Most streams one job type may be spread over.</summary>
    public const int MaxPartitions = 64;

    /// <summary>Default backlog (undelivered plus pending entries) above which <c>enqueue</c> refuses new jobs.</summary>
    public const long DefaultMaxBacklog = 1_000_000;

    /// <summary>Null means "the default for this job type": true for every type but <c>noop</c>.</summary>
    public bool? Enabled { get; set; }

    /// <summary>Stream key; empty means <c>jobs:{&lt;type&gt;}</c>.</summary>
    public string? Stream { get; set; }

    /// <summary>Consumer group; empty means <c>workers</c>.</summary>
    public string? Group { get; set; }

    /// <summary>Jobs run at once per replica; a value &lt;= 0 means <see cref="DefaultConcurrency"/>.</summary>
    public int Concurrency { get; set; }

    public int BatchSize { get; set; } = DefaultBatchSize;

    /// <summary>Work held beyond the running jobs, as time at the measured job duration (at least 1 entry, at most <see cref="BatchSize"/>).</summary>
    public TimeSpan Prefetch { get; set; } = DefaultPrefetch;

    /// <summary>One execution's limit; it fires up to a tenth of itself (at most 100 ms) late (<see cref="AttemptTimeouts"/>).</summary>
    public TimeSpan HandlerTimeout { get; set; } = DefaultHandlerTimeout;

    public TimeSpan VisibilityTimeout { get; set; } = DefaultVisibilityTimeout;

    public TimeSpan ClaimInterval { get; set; } = DefaultClaimInterval;

    public TimeSpan BlockTime { get; set; } = DefaultBlockTime;

    public int MaxDeliveries { get; set; } = DefaultMaxDeliveries;

    /// <summary>How often the stream is trimmed below what every group has acknowledged; zero turns trimming off.</summary>
    public TimeSpan TrimInterval { get; set; } = DefaultTrimInterval;

    /// <summary>A consumer with no pending entries idle this long leaves the group; zero keeps every consumer.</summary>
    public TimeSpan IdleConsumerTimeout { get; set; } = DefaultIdleConsumerTimeout;

    /// <summary>
    /// Streams the job type is spread over, each with its own hash tag (so on a Redis Cluster they land on different
    /// masters), group, dead letters and delayed set; 1 keeps the one stream.
    /// </summary>
    public int Partitions { get; set; } = 1;

    /// <summary>0 turns the back-pressure check off.</summary>
    public long MaxBacklog { get; set; } = DefaultMaxBacklog;

    /// <summary>Whether each job is recorded in the <c>jobs</c> table (status, attempts, progress, effects-once).</summary>
    public bool PersistState { get; set; } = true;

    /// <summary>With job state: how long a first execution runs before its begin row is written; zero writes it first.</summary>
    public TimeSpan RecordRunningAfter { get; set; } = DefaultRecordRunningAfter;

    public RetryOptions Retry { get; set; } = new();

    /// <summary>
    /// Whether the job type has priority lanes: <c>high</c> and <c>low</c> jobs go to streams of their own beside the
    /// normal one (<c>&lt;stream&gt;:high</c>, <c>&lt;stream&gt;:low</c>), read by every replica, and a free slot starts
    /// a waiting high job before a normal one, a normal one before a low one (the transport's <c>PrioritySlots</c>).
    /// Off by default: each lane is one more stream, reader and maintenance loop per replica.
    /// </summary>
    public bool Priorities { get; set; }

    /// <summary>Starts of this job type allowed across all replicas per period; a <c>Limit</c> of 0 (the default) is no limit.</summary>
    public RateLimitOptions RateLimit { get; set; } = new();
}

/// <summary>A fleet-wide limit on job starts, kept in Redis: at most <see cref="Limit"/> in any <see cref="Period"/>.</summary>
internal sealed class RateLimitOptions
{
    public int Limit { get; set; }

    public TimeSpan Period { get; set; } = TimeSpan.FromSeconds(1);
}
