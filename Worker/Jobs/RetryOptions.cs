namespace Worker.Jobs;

/// <summary>Backoff for transient failures, bound from <c>Worker:Jobs:&lt;type&gt;:Retry</c>.</summary>
internal sealed class RetryOptions
{
    /// <summary>Executions in all, the first included: 3.</summary>
    public const int DefaultMaxAttempts = 3;

    /// <summary>Delay before the first retry: 1 second.</summary>
    public static readonly TimeSpan DefaultBaseDelay = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between two attempts: 30 seconds.</summary>
    public static readonly TimeSpan DefaultMaxDelay = TimeSpan.FromSeconds(30);

    /// <summary>Growth of the delay from one retry to the next.</summary>
    public const double DefaultFactor = 2.0;

    /// <summary>
    /// Delays up to this long are waited in-process by the Polly pipeline; longer ones go through the delayed-retry
    /// schedule in Redis so the consumer slot keeps serving other jobs: 250 milliseconds.
    /// </summary>
    public static readonly TimeSpan DefaultInlineThreshold = TimeSpan.FromMilliseconds(250);

    public int MaxAttempts { get; set; } = DefaultMaxAttempts;

    public TimeSpan BaseDelay { get; set; } = DefaultBaseDelay;

    public TimeSpan MaxDelay { get; set; } = DefaultMaxDelay;

    public double Factor { get; set; } = DefaultFactor;

    public TimeSpan InlineThreshold { get; set; } = DefaultInlineThreshold;

    /// <summary>Spread each delay randomly over [delay/2, delay] so failed jobs do not retry in lockstep.</summary>
    public bool Jitter { get; set; } = true;
}
