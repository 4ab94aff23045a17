using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Worker.Jobs;

namespace Worker.Streams;

/// <summary>
/// What this process knows of one job type's cancelled jobs (<see cref="JobTypeSettings.CancelledKey"/>): every id
/// cancelled in the last week, so a job that has not started never does, and the running executions to stop when a
/// cancel comes. A cancel reaches it on pub/sub at once, and from a look at the set every
/// <see cref="PollInterval"/> (a replica that was disconnected, or started later, misses no cancel). With no cancels,
/// the check before each job is one read of a count.
/// </summary>
internal sealed partial class CancelWatch(IConnectionMultiplexer redis, JobTypeSettings settings, TimeProvider time, ILogger logger)
    : IJobCancellations, IAsyncDisposable
{
    /// <summary>How long a cancel is remembered (in Redis and here): 7 days. With job state the <c>jobs</c> row keeps it for good.</summary>
    public static readonly TimeSpan Keep = TimeSpan.FromDays(7);

    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>Marks are read again from this far before the newest one seen: the set's clock is the master's, which a failover may change.</summary>
    private static readonly TimeSpan Overlap = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, long> _cancelled = new(StringComparer.Ordinal);
    // Kept beside the dictionary: its IsEmpty takes every lock when it is empty, which is the usual case.
    private int _count;
    private readonly List<Func<string, bool>> _running = [];
    private readonly CancellationTokenSource _stop = new();
    private ChannelMessageQueue? _subscription;
    private Task? _poll;
    private double _seen = double.NegativeInfinity;

    /// <summary>Lets <paramref name="cancelRunning"/> stop a running execution of a cancelled job (true when it had one).</summary>
    public void Register(Func<string, bool> cancelRunning)
    {
        lock (_running)
        {
            _running.Add(cancelRunning);
        }
    }

    /// <summary>Whether <paramref name="jobId"/> was cancelled: free while nothing is.</summary>
    public bool IsCancelled(string jobId) => Volatile.Read(ref _count) != 0 && _cancelled.ContainsKey(jobId);

    /// <summary>Subscribes, loads the set once, then looks again every <see cref="PollInterval"/> until disposed.</summary>
    public async Task StartAsync()
    {
        try
        {
            _subscription = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(settings.CancelChannel));
            _subscription.OnMessage(message => Cancelled((string)message.Message!, time.GetUtcNow().ToUnixTimeMilliseconds()));
            await PollOnceAsync();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogWatchFailed(logger, e, settings.JobType);
        }

        _poll = Task.Run(PollLoopAsync);
    }

    /// <summary>Records a cancel heard of (on pub/sub or in the set) and stops the job if it runs here.</summary>
    public void Cancelled(string jobId, long atMs)
    {
        if (!_cancelled.TryAdd(jobId, atMs))
        {
            return;
        }

        Interlocked.Increment(ref _count);
        // Off the subscriber's thread: cancelling a token runs the handler's callbacks, which may continue the job.
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Watch.CancelRunning(s.JobId), (Watch: this, JobId: jobId), preferLocal: false);
    }

    private void CancelRunning(string jobId)
    {
        Func<string, bool>[] running;
        lock (_running)
        {
            running = [.. _running];
        }

        foreach (var cancel in running)
        {
            if (cancel(jobId))
            {
                LogRunningCancelled(logger, jobId, settings.JobType);
            }
        }
    }

    private async Task PollLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(PollInterval, time, _stop.Token);
                await PollOnceAsync();
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogWatchFailed(logger, e, settings.JobType);
            }
        }
    }

    /// <summary>The marks added since the newest one seen (less the overlap), and forgets the ones older than <see cref="Keep"/>.</summary>
    private async Task PollOnceAsync()
    {
        var from = double.IsNegativeInfinity(_seen) ? double.NegativeInfinity : _seen - Overlap.TotalMilliseconds;
        var marks = await redis.GetDatabase().SortedSetRangeByScoreWithScoresAsync(settings.CancelledKey, from, double.PositiveInfinity)
            .WaitAsync(settings.VisibilityTimeout, time);
        foreach (var mark in marks)
        {
            _seen = Math.Max(_seen, mark.Score);
            Cancelled((string)mark.Element!, (long)mark.Score);
        }

        var forgetBefore = time.GetUtcNow().ToUnixTimeMilliseconds() - (long)Keep.TotalMilliseconds;
        foreach (var (id, at) in _cancelled)
        {
            if (at < forgetBefore && _cancelled.TryRemove(id, out _))
            {
                Interlocked.Decrement(ref _count);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_poll is not null)
        {
            await _poll;
        }

        if (_subscription is not null)
        {
            try
            {
                await _subscription.UnsubscribeAsync();
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // Gone with the connection anyway.
            }
        }
    }

    [LoggerMessage(EventId = 1231, EventName = "CancelWatchFailed", Level = LogLevel.Warning,
        Message = "Could not read the cancelled jobs of {JobType}; looking again in a second")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, string jobType);

    [LoggerMessage(EventId = 1232, EventName = "RunningJobCancelled", Level = LogLevel.Information,
        Message = "Job {JobId} of {JobType} is cancelled while it runs: its handler's token is cancelled")]
    private static partial void LogRunningCancelled(ILogger logger, string jobId, string jobType);
}
