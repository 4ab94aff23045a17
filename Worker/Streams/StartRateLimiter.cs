using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Worker.Diagnostics;
using Worker.Jobs;

namespace Worker.Streams;

/// <summary>
/// Holds a rate-limited job type's entries between their read and their slot until the fleet-wide limit lets them
/// start (<see cref="StreamScripts.TakeStarts"/>): they wait here, owned and kept fresh by the heartbeat, without a slot
/// and without an attempt, and go to the slots in the order they came (reclaimed ones first). One script asks for
/// every entry waiting; what it refuses waits until the window says a start frees up.
/// </summary>
internal sealed partial class StartRateLimiter(
    IConnectionMultiplexer redis, Jobs.JobTypeSettings settings, string consumer, Action<Delivery, bool> start, WorkerMetrics metrics,
    TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan MinWait = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan FirstErrorBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxErrorBackoff = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private readonly LinkedList<(Delivery Delivery, bool First, bool Held)> _waiting = [];
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    // The window's members must be unique across the fleet: a consumer name is not (two hosts in one process, a name
    // configured twice), so each limiter names its starts with an id of its own.
    private readonly string _instance = $"{consumer}:{Guid.NewGuid():N}";
    private long _calls;

    /// <summary>Entries waiting for the limit (for tests and the stop).</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>Queues an entry for a start; <paramref name="first"/> puts it ahead of the others (reclaimed work).</summary>
    public void Enqueue(Delivery delivery, bool first)
    {
        lock (_lock)
        {
            if (first)
            {
                _waiting.AddFirst((delivery, true, false));
            }
            else
            {
                _waiting.AddLast((delivery, false, false));
            }
        }

        _wake.Writer.TryWrite(true);
    }

    /// <summary>Hands entries to the slots as the limit allows, until <paramref name="stopping"/>; the rest stay owned for the stop to release.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var backoff = FirstErrorBackoff;
        try
        {
            while (await _wake.Reader.WaitToReadAsync(stopping))
            {
                _wake.Reader.TryRead(out _);
                while (Waiting is var wanted and > 0 && !stopping.IsCancellationRequested)
                {
                    TimeSpan wait;
                    try
                    {
                        var (granted, freesIn) = await TakeAsync(wanted);
                        backoff = FirstErrorBackoff;
                        Start(granted);
                        if (granted == wanted)
                        {
                            continue;
                        }

                        CountHeld();
                        wait = freesIn > MinWait ? freesIn : MinWait;
                    }
                    catch (Exception e) when (e is RedisException or TimeoutException)
                    {
                        LogLimitFailed(logger, e, settings.JobType, backoff);
                        wait = backoff;
                        backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxErrorBackoff.Ticks));
                    }

                    await Task.Delay(wait, time, stopping);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private async Task<(int Granted, TimeSpan FreesIn)> TakeAsync(int wanted)
    {
        var prefix = $"{_instance}:{Interlocked.Increment(ref _calls).ToString(CultureInfo.InvariantCulture)}";
        var reply = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(
            StreamScripts.TakeStarts,
            [settings.RateKey],
            [settings.RateLimit.Limit, (long)settings.RateLimit.Period.TotalMilliseconds, wanted, prefix]).WaitAsync(settings.VisibilityTimeout, time))!;
        return ((int)reply[0], TimeSpan.FromMilliseconds((long)reply[1]));
    }

    private void Start(int granted)
    {
        for (var i = 0; i < granted; i++)
        {
            (Delivery Delivery, bool First, bool Held) next;
            lock (_lock)
            {
                next = _waiting.First!.Value;
                _waiting.RemoveFirst();
            }

            start(next.Delivery, next.First);
        }
    }

    /// <summary>Counts each entry the limit held back, once.</summary>
    private void CountHeld()
    {
        var held = 0;
        lock (_lock)
        {
            for (var node = _waiting.First; node is not null; node = node.Next)
            {
                if (!node.Value.Held)
                {
                    node.Value = node.Value with { Held = true };
                    held++;
                }
            }
        }

        metrics.RecordRateLimited(settings.JobType, held);
    }

    [LoggerMessage(EventId = 1230, EventName = "RateLimitFailed", Level = LogLevel.Warning,
        Message = "Could not ask the rate limit of {JobType}; asking again in {Backoff}")]
    private static partial void LogLimitFailed(ILogger logger, Exception exception, string jobType, TimeSpan backoff);
}
