using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Worker.Streams;

/// <summary>
/// Sends the acks of one consumer's finished entries. The reader takes what is queued with each read that may park
/// (one round trip for both, <see cref="TakeForRead"/>); while the reader is away (waiting for credits, parked, or
/// backing off) a loop of its own sends them in batches (<see cref="RunAsync"/>). An acked entry leaves the set of
/// entries the consumer holds.
/// </summary>
internal sealed partial class Acker(
    Func<RedisValue[], Task> send, ConcurrentDictionary<string, byte> owned, string jobType, TimeProvider time, ILogger logger)
{
    public const int MaxBatch = 1000;

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly ConcurrentQueue<string> _queued = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly string[] _forRead = new string[MaxBatch];

    /// <summary>1 while the reader is not about to send a read, so a finished job's ack must wake the loop.</summary>
    private int _readerAway = 1;

    /// <summary>
    /// Queues a finished entry's ack. Either the reader's take after <see cref="ReaderAway"/> sees this entry, or this
    /// sees the flag raised: both sides fence between the two. An ack queued just before the flag went up is sent by
    /// the reader's next read, or by the loop the reader wakes before it waits for a slot or backs off.
    /// </summary>
    public void Enqueue(string id)
    {
        _queued.Enqueue(id);
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _readerAway) != 0)
        {
            _wake.Writer.TryWrite(true);
        }
    }

    /// <summary>Until the reader's next read returns, acks go through the loop: the reader may wait for credits or park.</summary>
    public void ReaderAway() => Interlocked.Exchange(ref _readerAway, 1);

    /// <summary>The read that carried <paramref name="carried"/> returned: those entries are acked, and the reader is back.</summary>
    public void ReaderBack(ReadOnlySpan<string> carried)
    {
        Volatile.Write(ref _readerAway, 0);
        Acked(carried);
    }

    /// <summary>Takes up to <see cref="MaxBatch"/> queued acks for the next read to carry.</summary>
    public ReadOnlyMemory<string> TakeForRead()
    {
        var count = 0;
        while (count < _forRead.Length && _queued.TryDequeue(out var id))
        {
            _forRead[count++] = id;
        }

        return _forRead.AsMemory(0, count);
    }

    /// <summary>A read that failed may not have applied its acks: the loop sends them again (an ack twice is harmless).</summary>
    public void Return(ReadOnlySpan<string> ids)
    {
        foreach (var id in ids)
        {
            _queued.Enqueue(id);
        }

        WakeForQueued();
    }

    /// <summary>Wakes the loop when acks are queued: the reader is about to wait, and they must not wait with it.</summary>
    public void WakeForQueued()
    {
        if (!_queued.IsEmpty)
        {
            _wake.Writer.TryWrite(true);
        }
    }

    /// <summary>The reader has stopped: every ack from now on is the loop's.</summary>
    public void ReaderDone()
    {
        ReaderAway();
        _wake.Writer.TryWrite(true);
    }

    /// <summary>
    /// Sends what the reader does not carry, in batches, until <paramref name="slotsDone"/> (then whatever is left).
    /// A failed send is tried again, waiting 100 ms doubling up to 5 s, until it succeeds or <paramref name="hardStop"/>
    /// fires: then the effects are committed and guarded, a redelivery acks it as a duplicate, and the entry stays held
    /// for the stop to hand back.
    /// </summary>
    public async Task RunAsync(Task slotsDone, CancellationToken hardStop)
    {
        _ = slotsDone.ContinueWith(_ => _wake.Writer.TryComplete(), TaskScheduler.Default);
        var batch = new List<string>(MaxBatch);
        bool more;
        do
        {
            more = await _wake.Reader.WaitToReadAsync(CancellationToken.None);
            _wake.Reader.TryRead(out _);
            while (true)
            {
                while (batch.Count < MaxBatch && _queued.TryDequeue(out var id))
                {
                    batch.Add(id);
                }

                if (batch.Count == 0)
                {
                    break;
                }

                // The decoded ids the slots already hold: a string converts to a RedisValue without a copy. Acks given
                // up at the hard stop stay held, for the stop to release.
                if (await SendWithRetryAsync([.. batch], hardStop))
                {
                    Acked(CollectionsMarshal.AsSpan(batch));
                }

                batch.Clear();
            }
        }
        while (more);
    }

    private void Acked(ReadOnlySpan<string> ids)
    {
        foreach (var id in ids)
        {
            owned.TryRemove(id, out _);
        }
    }

    /// <summary>False when given up at the hard stop.</summary>
    private async Task<bool> SendWithRetryAsync(RedisValue[] ids, CancellationToken hardStop)
    {
        var backoff = FirstBackoff;
        while (true)
        {
            try
            {
                await send(ids);
                return true;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                if (hardStop.IsCancellationRequested)
                {
                    LogAckAbandoned(logger, e, ids.Length, jobType);
                    return false;
                }

                LogAckFailed(logger, e, ids.Length, jobType, backoff);
                try
                {
                    await Task.Delay(backoff, time, hardStop);
                }
                catch (OperationCanceledException)
                {
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    [LoggerMessage(EventId = 1006, EventName = "AckFailed", Level = LogLevel.Warning,
        Message = "Acking {Count} {JobType} entries failed; trying again in {Backoff}")]
    private static partial void LogAckFailed(ILogger logger, Exception error, int count, string jobType, TimeSpan backoff);

    [LoggerMessage(EventId = 1007, EventName = "AckAbandoned", Level = LogLevel.Warning,
        Message = "Gave up acking {Count} {JobType} entries at shutdown; their redelivery will find the effects committed")]
    private static partial void LogAckAbandoned(ILogger logger, Exception error, int count, string jobType);
}
