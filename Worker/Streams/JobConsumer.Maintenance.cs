using Microsoft.Extensions.Logging;
using Worker.Diagnostics;

namespace Worker.Streams;

internal sealed partial class JobConsumer
{
    /// <summary>
    /// Heartbeat of owned entries (every third of the visibility timeout), reclaim of abandoned entries (every claim
    /// interval) and promotion of due retries (when due, at least every second). Each step fails alone.
    /// </summary>
    private async Task MaintenanceLoopAsync()
    {
        // Runs until the slots are done, not merely until stop: draining jobs still need their heartbeat.
        var drained = _drained.Token;
        var heartbeatEvery = _settings.VisibilityTimeout / 3;
        var now = _time.GetUtcNow();
        DateTimeOffset nextHeartbeat = now + heartbeatEvery, nextReclaim = now, nextPromote = now, nextTrim = now + _settings.TrimInterval;
        while (!drained.IsCancellationRequested)
        {
            // Asleep until the next step is due (at most a second away: promotion), not woken on a tick to check.
            var due = nextHeartbeat < nextReclaim ? nextHeartbeat : nextReclaim;
            if (!_stopping.IsCancellationRequested)
            {
                due = nextPromote < due ? nextPromote : due;
                due = _settings.TrimInterval > TimeSpan.Zero && nextTrim < due ? nextTrim : due;
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

            if (now >= nextReclaim)
            {
                nextReclaim = now + _settings.ClaimInterval;
                await RunStepAsync("reclaim", ReclaimAsync);
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

    private async Task ReclaimAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        var credits = _credits.TryAcquire(_settings.BatchSize);
        if (credits == 0)
        {
            return;
        }

        ReclaimResult result;
        try
        {
            result = await _stream.ReclaimAsync(credits);
        }
        catch
        {
            _credits.Release(credits);
            throw;
        }

        _credits.Release(credits - result.Claimed.Count);
        if (result.DeletedIds.Count > 0)
        {
            LogPendingDeleted(_logger, result.DeletedIds.Count, _settings.StreamKey, string.Join(",", result.DeletedIds.Take(20)));
        }

        if (result.Claimed.Count > 0)
        {
            LogReclaimed(_logger, result.Claimed.Count, _settings.JobType, _stream.Consumer);
            WorkerMetrics.RecordReclaimed(_settings.JobType, result.Claimed.Count);
            foreach (var delivery in result.Claimed)
            {
                Dispatch(delivery);
            }
        }
    }
}
