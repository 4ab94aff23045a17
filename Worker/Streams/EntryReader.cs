using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Worker.Diagnostics;
using Worker.Jobs;

namespace Worker.Streams;

/// <summary>
/// One consumer's reader: when a look is due it reclaims entries that dead consumers left (ahead of everything
/// waiting), then takes credits for free slots and reads new entries on its own blocking connection, carrying the
/// acks finished since its last read, and hands what it read to the slots (<see cref="JobDispatcher"/>) or, with a
/// fleet-wide rate limit, to the <see cref="StartRateLimiter"/>. An idle pickup starts on this thread.
/// </summary>
internal sealed partial class EntryReader
{
    /// <summary>
    /// Longest the jobs of one read may hold the reader's thread when they start there: 1 ms. When <see cref="InlineStrikes"/>
    /// reads in a row take longer (a handler works before its first await), pickups use other threads for
    /// <see cref="InlinePause"/>.
    /// One slow start is not enough: a VM that deschedules the thread for a few milliseconds is not the handler's fault.
    /// </summary>
    private static readonly TimeSpan InlineBudget = TimeSpan.FromMilliseconds(1);

    private const int InlineStrikes = 3;

    private static readonly TimeSpan InlinePause = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ReaderBeatInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FirstErrorBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxErrorBackoff = TimeSpan.FromSeconds(5);

    private readonly JobTypeSettings _settings;
    private readonly JobStreamClient _stream;
    private readonly Func<StreamEntry[], Task<HashSet<string>>?> _lookUpSucceeded;
    private readonly Func<Task<IStreamReader>> _connectReader;
    private readonly ConcurrentDictionary<string, byte> _owned;
    private readonly JobDispatcher _dispatcher;
    private readonly Acker _acker;
    private readonly CreditGate _credits;
    private readonly StartRateLimiter? _limiter;
    private readonly ReclaimSchedule _reclaim;
    private readonly PrefetchSizer _prefetch;
    private readonly WorkerMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private IStreamReader? _reader;
    private Task<IStreamReader>? _readerConnecting;
    private bool _groupReady;
    // After a full read a backlog is likely: the next read does not block. Any shorter read blocks next time,
    // so an idle consumer is always parked on Redis and picks a new entry up at once.
    private bool _backlog;
    private long _beatTicks;
    // When inline pickups resume (a TimeProvider timestamp) and the slow starts in a row.
    private long _inlineResumes;
    private int _inlineStrikes;

    /// <param name="lookUpSucceeded">With job state, the look made for one read (<see cref="JobExecutor.LookUpSucceeded"/>).</param>
    /// <param name="limiter">With a fleet-wide rate limit, where read entries wait for their start.</param>
    public EntryReader(
        JobStreamClient stream, Func<StreamEntry[], Task<HashSet<string>>?> lookUpSucceeded, Func<Task<IStreamReader>> connectReader, ConcurrentDictionary<string, byte> owned,
        JobDispatcher dispatcher, Acker acker, CreditGate credits, StartRateLimiter? limiter, PrefetchSizer prefetch, WorkerMetrics metrics,
        TimeProvider time, ILogger logger)
    {
        (_stream, _settings, _lookUpSucceeded, _connectReader, _owned, _dispatcher, _acker, _credits, _limiter, _prefetch, _metrics, _time, _logger) =
            (stream, stream.Settings, lookUpSucceeded, connectReader, owned, dispatcher, acker, credits, limiter, prefetch, metrics, time, logger);
        _reclaim = new ReclaimSchedule(_settings.ClaimInterval, time);
        _beatTicks = time.GetUtcNow().UtcTicks;
    }

    /// <summary>The connection in use, if connected: the pool unblocks all readers at once when stopping.</summary>
    public IStreamReader? Reader => _reader;

    /// <summary>When the loop last beat (each turn, and every second while it waits for a slot).</summary>
    public long LastBeatTicks => Interlocked.Read(ref _beatTicks);

    /// <summary>
    /// Connects and makes sure the group exists before <see cref="RunAsync"/>, so the first read goes out as
    /// soon as the host is up. Gives up quietly after <paramref name="limit"/>: the read loop then keeps trying.
    /// </summary>
    public async Task PrepareAsync(TimeSpan limit)
    {
        try
        {
            _reader = await ConnectReaderAsync().WaitAsync(limit);
            await _stream.EnsureGroupAsync().WaitAsync(limit);
            _groupReady = true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever it was, the read loop meets it again, logs it and backs off.
        }
    }

    /// <summary>One connection attempt at a time: a slow one started by <see cref="PrepareAsync"/> is awaited, not doubled.</summary>
    private async Task<IStreamReader> ConnectReaderAsync()
    {
        var connecting = _readerConnecting ??= _connectReader();
        try
        {
            return await connecting;
        }
        catch
        {
            _readerConnecting = null;
            throw;
        }
    }

    private void Beat() => Interlocked.Exchange(ref _beatTicks, _time.GetUtcNow().UtcTicks);

    /// <summary>Reads until <paramref name="stopping"/>, backing off (100 ms doubling to 5 s) while Redis fails; then closes the slots.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var backoff = FirstErrorBackoff;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await ReadOnceAsync(stopping);
                backoff = FirstErrorBackoff;
                continue;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (RedisServerException e) when (
                e.Message.StartsWith("NOGROUP", StringComparison.Ordinal)
                || e.Message.StartsWith("UNBLOCKED", StringComparison.Ordinal))
            {
                // Key deleted (a parked read ends with UNBLOCKED), Redis flushed or restarted empty: recreate the
                // group and go on, with one warning.
                LogGroupMissing(_logger, _settings.StreamKey, _settings.Group);
                _groupReady = false;
            }
            catch (Exception e)
            {
                LogReadFailed(_logger, e, _settings.JobType, _settings.StreamKey, backoff);
            }

            var wait = backoff;
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxErrorBackoff.Ticks));
            _acker.WakeForQueued();
            try
            {
                await Task.Delay(wait, _time, stopping);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        _acker.ReaderDone();
        _dispatcher.Complete();
    }

    /// <summary>
    /// One turn of the reader: credits for free slots, a look for abandoned entries when one is due, then a read that
    /// carries the acks finished since the last one, its entries handed to the slots.
    /// </summary>
    /// <remarks>Its async state, and <see cref="ReadAsync"/>'s, is pooled, not allocated per read.</remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ReadOnceAsync(CancellationToken stopping)
    {
        // Half of what this consumer should hold beyond its slots now: a busy one reads in batches, an idle one
        // as soon as one job arrives.
        var prefetch = _limiter is null ? _prefetch.Size : 0;
        var minCredits = Math.Max(1, prefetch / 2);
        Beat();
        _acker.ReaderAway();
        _reader ??= await ConnectReaderAsync();
        if (!_groupReady)
        {
            await _stream.EnsureGroupAsync();
            _groupReady = true;
        }

        // A look for abandoned entries goes out with the first free credit: under overload, reclaimed work takes
        // each slot that frees up, ahead of the reader's next batch, instead of waiting for half a batch.
        var reclaimDue = _reclaim.IsDue;
        var acquiring = AcquireCreditsAsync(reclaimDue ? 1 : minCredits, prefetch, stopping);
        if (!acquiring.IsCompleted)
        {
            // Every slot is busy: the acks finished so far must not wait for one to free up.
            _acker.WakeForQueued();
        }

        var credits = await acquiring;
        if (reclaimDue)
        {
            credits = await ReclaimBeforeReadAsync(credits, prefetch);
            if (credits < minCredits)
            {
                // All went to reclaimed entries (look again: more may wait), or too few are left for a
                // read: wait for half a batch as usual, so an overloaded reader does not read one at a time.
                _credits.Release(credits);
                return;
            }
        }

        var entries = await ReadAsync(credits);
        Beat();
        var blocked = !_backlog;
        _backlog = entries.Length == credits;
        var first = 0;
        var succeeded = entries.Length > 0 ? _lookUpSucceeded(entries) : null;
        if (blocked && entries.Length > 0 && _time.GetTimestamp() >= _inlineResumes)
        {
            first = StartInline(entries, succeeded);
        }

        for (var i = first; i < entries.Length; i++)
        {
            Dispatch(new Delivery(entries[i], 1, succeeded));
        }
    }

    /// <summary>
    /// Reads up to <paramref name="credits"/> new entries, giving back the credits of those that did not come. A read
    /// that may park carries the acks finished since the last one, in the same round trip: at a steady rate that saves
    /// the acker's wake-up and round trip per job. A backlog read leaves them to the acker, which sends them while
    /// this read is out (a drain is faster with the two side by side).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<StreamEntry[]> ReadAsync(int credits)
    {
        var acks = _backlog ? default : _acker.TakeForRead();
        if (_backlog)
        {
            _acker.WakeForQueued();
        }

        StreamEntry[] entries = [];
        try
        {
            entries = await _reader!.ReadAsync(
                _settings.StreamKey, _settings.Group, _stream.Consumer, credits, _backlog ? TimeSpan.Zero : _reclaim.BlockFor(_settings.BlockTime), acks);
        }
        catch
        {
            // Maybe not applied: the acker sends them again (an ack twice is harmless).
            _acker.Return(acks.Span);
            throw;
        }
        finally
        {
            // Credits come back for whatever did not arrive; on an error that is all of them.
            _credits.Release(credits - entries.Length);
        }

        _acker.ReaderBack(acks.Span);
        return entries;
    }

    /// <summary>
    /// Claims entries that dead consumers left idle past the visibility timeout, up to a batch, and queues them ahead of
    /// every entry waiting for a slot: the oldest work in the group runs next. They take the credits the next read would
    /// have used and, beyond those, borrow from the reads after it (a replica then holds up to a batch more than usual
    /// until they are done), so a dead replica's entries come back in one look, not one freed slot at a time.
    /// </summary>
    /// <returns>What is left of <paramref name="credits"/> for the read.</returns>
    private async Task<int> ReclaimBeforeReadAsync(int credits, int prefetch)
    {
        var asked = Math.Max(credits, prefetch);
        ReclaimResult result;
        try
        {
            result = await _stream.ReclaimAsync(asked).WaitAsync(_settings.VisibilityTimeout, _time);
        }
        catch (Exception e)
        {
            LogMaintenanceFailed(_logger, e, _settings.JobType, "reclaim");
            _reclaim.Failed();
            return credits;
        }

        _reclaim.Looked(asked, result.Claimed.Count);
        if (result.Claimed.Count > credits)
        {
            _credits.Borrow(result.Claimed.Count - credits);
        }

        if (result.DeletedIds.Count > 0)
        {
            LogPendingDeleted(_logger, result.DeletedIds.Count, _settings.StreamKey, string.Join(",", result.DeletedIds.Take(20)));
        }

        if (result.Claimed.Count > 0)
        {
            LogReclaimed(_logger, result.Claimed.Count, _settings.JobType, _stream.Consumer);
            _metrics.RecordReclaimed(_settings.JobType, result.Claimed.Count);
            foreach (var delivery in result.Claimed)
            {
                Dispatch(delivery, first: true);
            }
        }

        return Math.Max(0, credits - result.Claimed.Count);
    }

    /// <summary>
    /// An idle pickup: the read's jobs start on this thread, one after another in idle slots, before the next read is
    /// sent, until they have held it for <see cref="InlineBudget"/> (the caller gives the rest to other slots). Nothing
    /// else is woken for a lone job, or for the few a short stall bunches into one read: that is most of the pickup
    /// latency and CPU at a steady rate. When reads keep holding this thread past the budget, pickups go to other
    /// threads for a while, so a handler that computes before its first await cannot hold up the reads.
    /// </summary>
    /// <returns>How many of <paramref name="entries"/> were started (at least one).</returns>
    private int StartInline(StreamEntry[] entries, Task<HashSet<string>>? succeeded)
    {
        var started = _time.GetTimestamp();
        var count = 0;
        TimeSpan held;
        do
        {
            Dispatch(new Delivery(entries[count++], 1, succeeded), inline: true);
            held = _time.GetElapsedTime(started);
        }
        while (count < entries.Length && held <= InlineBudget);

        _inlineStrikes = held > InlineBudget ? _inlineStrikes + 1 : 0;
        if (_inlineStrikes >= InlineStrikes)
        {
            _inlineStrikes = 0;
            _inlineResumes = _time.GetTimestamp() + (long)(InlinePause.TotalSeconds * _time.TimestampFrequency);
            LogInlinePaused(_logger, _settings.JobType, InlineStrikes, held.TotalMilliseconds, InlinePause.TotalSeconds);
        }

        return count;
    }

    /// <summary>
    /// Waits for free slots, beating every second so long jobs do not look like a dead reader. The consumer holds at most
    /// its slots plus <paramref name="prefetch"/> entries: the rest of <c>BatchSize</c> is held back.
    /// </summary>
    private async Task<int> AcquireCreditsAsync(int min, int prefetch, CancellationToken stopping)
    {
        while (true)
        {
            using var tick = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            tick.CancelAfter(ReaderBeatInterval);
            try
            {
                return await _credits.AcquireAsync(
                    min, Math.Min(_settings.BatchSize, _settings.Concurrency + prefetch), tick.Token,
                    reserve: _limiter is null ? _settings.BatchSize - prefetch : 0);
            }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
            {
                Beat();
            }
        }
    }

    /// <summary>
    /// Gives an entry, whose credit the caller took, to a slot (<paramref name="first"/>: ahead of those waiting). An
    /// entry already held here (this process was too slow to beat and reclaimed its own entry: it is running here)
    /// gives its credit back instead. Once the slots are closed (stopping) the entry stays owned and the stop releases
    /// it to a peer.
    /// </summary>
    private void Dispatch(Delivery delivery, bool inline = false, bool first = false)
    {
        if (!_owned.TryAdd(delivery.Id, 0))
        {
            _credits.Release(1);
            return;
        }

        if (_limiter is not null)
        {
            _limiter.Enqueue(delivery, first);
            return;
        }

        _dispatcher.Hand(delivery, inline, first);
    }

    [LoggerMessage(EventId = 1003, EventName = "ConsumerGroupMissing", Level = LogLevel.Warning,
        Message = "Stream {StreamKey} or its group {ConsumerGroup} disappeared (key deleted, Redis flushed or restarted empty); recreating the group")]
    private static partial void LogGroupMissing(ILogger logger, string streamKey, string consumerGroup);

    [LoggerMessage(EventId = 1004, EventName = "StreamReadFailed", Level = LogLevel.Warning,
        Message = "Reading {JobType} from {StreamKey} failed; trying again in {Backoff}")]
    private static partial void LogReadFailed(ILogger logger, Exception error, string jobType, string streamKey, TimeSpan backoff);

    [LoggerMessage(EventId = 1010, EventName = "MaintenanceFailed", Level = LogLevel.Warning,
        Message = "The {Step} step of the {JobType} consumer failed")]
    private static partial void LogMaintenanceFailed(ILogger logger, Exception error, string jobType, string step);

    [LoggerMessage(EventId = 1012, EventName = "PendingEntriesDeleted", Level = LogLevel.Error,
        Message = "{Count} pending entries of {StreamKey} were deleted from the stream before they finished (trimmed or XDEL); those jobs are lost: {MessageIds}")]
    private static partial void LogPendingDeleted(ILogger logger, int count, string streamKey, string messageIds);

    [LoggerMessage(EventId = 1013, EventName = "EntriesReclaimed", Level = LogLevel.Information,
        Message = "Reclaimed {Count} abandoned {JobType} entries as {ConsumerName}")]
    private static partial void LogReclaimed(ILogger logger, int count, string jobType, string consumerName);

    [LoggerMessage(EventId = 1014, EventName = "InlinePickupsPaused", Level = LogLevel.Debug,
        Message = "{Strikes} {JobType} pickups in a row held the reader's thread before their jobs' first await (the last {HeldMs:0.0} ms); for {Seconds} s pickups start on other threads")]
    private static partial void LogInlinePaused(ILogger logger, string jobType, int strikes, double heldMs, double seconds);
}
