using Microsoft.Extensions.Logging;
using Worker.Diagnostics;

namespace Worker.Streams;

internal sealed partial class JobConsumer
{
    /// <summary>
    /// Heartbeat of owned entries (every third of the visibility timeout), promotion of due retries (when due, at least
    /// every second), the trim and the removal of consumers that left. Each step fails alone. Abandoned entries are
    /// reclaimed by the read loop, before it reads (<see cref="ReclaimBeforeReadAsync"/>).
    /// </summary>
    private async Task MaintenanceLoopAsync()
    {
        // Runs until the slots are done, not merely until stop: draining jobs still need their heartbeat.
        var drained = _drained.Token;
        var heartbeatEvery = _settings.VisibilityTimeout / 3;
        var now = _time.GetUtcNow();
        var pruneEvery = PruneInterval(_settings);
        DateTimeOffset nextHeartbeat = now + heartbeatEvery, nextPromote = now, nextTrim = now + _settings.TrimInterval;
        var nextPrune = now + pruneEvery;
        while (!drained.IsCancellationRequested)
        {
            // Asleep until the next step is due (at most a second away: promotion), not woken on a tick to check.
            var due = nextHeartbeat;
            if (!_stopping.IsCancellationRequested)
            {
                due = nextPromote < due ? nextPromote : due;
                due = _settings.TrimInterval > TimeSpan.Zero && nextTrim < due ? nextTrim : due;
                due = pruneEvery > TimeSpan.Zero && nextPrune < due ? nextPrune : due;
            }

            try
            {
                var wait = due - _time.GetUtcNow();
                await Task.Delay(wait > MinMaintenanceWait ? wait : MinMaintenanceWait, _time, drained);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            now = _time.GetUtcNow();
            Beat(ref _maintenanceBeatTicks);
            if (now >= nextHeartbeat)
            {
                nextHeartbeat = now + heartbeatEvery;
                await RunStepAsync("heartbeat", HeartbeatAsync);
            }

            if (_stopping.IsCancellationRequested)
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
    internal static TimeSpan PruneInterval(Jobs.JobTypeSettings settings) =>
        settings.IdleConsumerTimeout <= TimeSpan.Zero
            ? TimeSpan.Zero
            : TimeSpan.FromTicks(Math.Min(settings.IdleConsumerTimeout.Ticks / 4, MaxPruneInterval.Ticks));

    private async Task PruneConsumersAsync(TimeSpan every)
    {
        foreach (var (name, idle) in await _stream.PruneConsumersAsync(every))
        {
            LogConsumerRemoved(_logger, name, _settings.JobType, _settings.Group, idle.TotalSeconds);
            WorkerMetrics.RecordConsumerRemoved(_settings.JobType);
        }
    }
}
