using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Worker.Diagnostics;
using Worker.Jobs;

namespace Worker.Streams;

/// <summary>
/// The upkeep of one consumer besides reading and running: heartbeats of the entries it holds, promotion of due
/// retries and delayed jobs, the trim of acknowledged entries and the removal of consumers that left. Each step fails
/// alone and is logged; none stops the others.
/// </summary>
internal sealed partial class ConsumerMaintenance
{
    private const int MaxHeartbeatBatch = 500;

    /// <summary>Shortest sleep between steps: 10 ms, so a step that keeps failing fast cannot spin.</summary>
    private static readonly TimeSpan MinWait = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan PromoteInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxPruneInterval = TimeSpan.FromSeconds(30);

    private readonly JobStreamClient _stream;
    private readonly JobTypeSettings _settings;
    private readonly ConcurrentDictionary<string, byte> _owned;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly WorkerMetrics _metrics;
    private long _beatTicks;

    public ConsumerMaintenance(
        JobStreamClient stream, ConcurrentDictionary<string, byte> owned, WorkerMetrics metrics, TimeProvider time, ILogger logger)
    {
        (_stream, _settings, _owned, _metrics, _time, _logger) = (stream, stream.Settings, owned, metrics, time, logger);
        _beatTicks = time.GetUtcNow().UtcTicks;
    }

    /// <summary>When the loop last woke: a stalled loop shows here.</summary>
    public long LastBeatTicks => Interlocked.Read(ref _beatTicks);

    /// <summary>
    /// Heartbeat of owned entries (every third of the visibility timeout), promotion of due retries (when due, at least
    /// every second), the trim and the removal of consumers that left. Each step fails alone. Abandoned entries are
    /// reclaimed by the reader, before it reads.
    /// </summary>
    public async Task RunAsync(CancellationToken stopping, CancellationToken drained)
    {
        // Runs until the slots are done, not merely until stop: draining jobs still need their heartbeat.
        var heartbeatEvery = _settings.VisibilityTimeout / 3;
        var now = _time.GetUtcNow();
        var pruneEvery = PruneInterval(_settings);
        DateTimeOffset nextHeartbeat = now + heartbeatEvery, nextPromote = now, nextTrim = now + _settings.TrimInterval;
        var nextPrune = now + pruneEvery;
        while (!drained.IsCancellationRequested)
        {
            // Asleep until the next step is due (at most a second away: promotion), not woken on a tick to check.
            var due = nextHeartbeat;
            if (!stopping.IsCancellationRequested)
            {
                due = nextPromote < due ? nextPromote : due;
                due = _settings.TrimInterval > TimeSpan.Zero && nextTrim < due ? nextTrim : due;
                due = pruneEvery > TimeSpan.Zero && nextPrune < due ? nextPrune : due;
            }

            try
            {
                var wait = due - _time.GetUtcNow();
                await Task.Delay(wait > MinWait ? wait : MinWait, _time, drained);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            now = _time.GetUtcNow();
            Interlocked.Exchange(ref _beatTicks, _time.GetUtcNow().UtcTicks);
            if (now >= nextHeartbeat)
            {
                nextHeartbeat = now + heartbeatEvery;
                await RunStepAsync("heartbeat", HeartbeatAsync);
            }

            if (stopping.IsCancellationRequested)
            {
                continue;
            }

            if (_settings.TrimInterval > TimeSpan.Zero && now >= nextTrim)
            {
                nextTrim = now + _settings.TrimInterval;
                await RunStepAsync("trim", () => _stream.TrimAcknowledgedAsync());
            }

            if (pruneEvery > TimeSpan.Zero && now >= nextPrune)
            {
                nextPrune = now + pruneEvery;
                await RunStepAsync("prune", () => PruneConsumersAsync(pruneEvery));
            }

            if (now >= nextPromote)
            {
                nextPromote = now + PromoteInterval;
                await RunStepAsync("promote", async () =>
                {
                    var (_, nextDue) = await _stream.PromoteDueAsync(_time.GetUtcNow());
                    if (nextDue is { } due && due < nextPromote)
                    {
                        nextPromote = due;
                    }
                });
            }
        }
    }

    private async Task RunStepAsync(string step, Func<Task> action)
    {
        try
        {
            await action().WaitAsync(_settings.VisibilityTimeout, _time);
        }
        catch (Exception e)
        {
            LogMaintenanceFailed(_logger, e, _settings.JobType, step);
        }
    }

    private async Task HeartbeatAsync()
    {
        var ids = _owned.Keys.ToArray();
        for (var i = 0; i < ids.Length; i += MaxHeartbeatBatch)
        {
            var lost = await _stream.HeartbeatAsync(new ArraySegment<string>(ids, i, Math.Min(MaxHeartbeatBatch, ids.Length - i)));
            if (lost.Length > 0)
            {
                // Paused past the visibility timeout and reclaimed by a peer, or acked meanwhile. Whichever finishes
                // first commits the effects; the other finds them committed.
                LogHeartbeatLost(_logger, lost.Length, _settings.JobType);
            }
        }
    }

    /// <summary>
    /// How often a replica offers to remove the consumers that left: a quarter of the idle timeout, at most 30 s, so a
    /// gone replica's consumers leave within the timeout plus that; zero when removal is off.
    /// </summary>
    internal static TimeSpan PruneInterval(JobTypeSettings settings) =>
        settings.IdleConsumerTimeout <= TimeSpan.Zero
            ? TimeSpan.Zero
            : TimeSpan.FromTicks(Math.Min(settings.IdleConsumerTimeout.Ticks / 4, MaxPruneInterval.Ticks));

    private async Task PruneConsumersAsync(TimeSpan every)
    {
        foreach (var (name, idle) in await _stream.PruneConsumersAsync(every))
        {
            LogConsumerRemoved(_logger, name, _settings.JobType, _settings.Group, idle.TotalSeconds);
            _metrics.RecordConsumerRemoved(_settings.JobType);
        }
    }

    [LoggerMessage(EventId = 1010, EventName = "MaintenanceFailed", Level = LogLevel.Warning,
        Message = "The {Step} step of the {JobType} consumer failed")]
    private static partial void LogMaintenanceFailed(ILogger logger, Exception error, string jobType, string step);

    [LoggerMessage(EventId = 1011, EventName = "HeartbeatLostEntries", Level = LogLevel.Warning,
        Message = "{Count} {JobType} entries held here are now owned by a peer (this process was paused or slow)")]
    private static partial void LogHeartbeatLost(ILogger logger, int count, string jobType);

    [LoggerMessage(EventId = 1015, EventName = "ConsumerRemoved", Level = LogLevel.Information,
        Message = "Removed consumer {ConsumerName} of {JobType} from {ConsumerGroup}: nothing pending, idle {IdleSeconds:0} s")]
    private static partial void LogConsumerRemoved(ILogger logger, string consumerName, string jobType, string consumerGroup, double idleSeconds);
}
