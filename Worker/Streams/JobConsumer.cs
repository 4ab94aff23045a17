using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Worker.Diagnostics;
using Worker.Jobs;

namespace Worker.Streams;

/// <summary>
/// One stream's consumer in this process: four loops over the entries it holds, started and stopped here. The
/// <see cref="EntryReader"/> reclaims abandoned entries and reads new ones; the <see cref="JobDispatcher"/>'s slots
/// run them and apply their fate; the <see cref="Acker"/> sends the acks the reader does not carry;
/// <see cref="ConsumerMaintenance"/> keeps held entries fresh and promotes due retries. No exception from one message
/// escapes.
/// </summary>
internal sealed partial class JobConsumer
{
    private readonly JobTypeSettings _settings;
    private readonly JobStreamClient _stream;
    private readonly JobExecutor _executor;
    private readonly ILogger _logger;

    // Entries this consumer holds: running, waiting for a slot, or waiting for their ack.
    private readonly ConcurrentDictionary<string, byte> _owned = new(StringComparer.Ordinal);
    private readonly EntryReader _reader;
    private readonly JobDispatcher _dispatcher;
    private readonly Acker _acker;
    private readonly ConsumerMaintenance _maintenance;
    // With a fleet-wide rate limit: where read entries wait for their start, and the consumer holds no more than its slots.
    private readonly StartRateLimiter? _limiter;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _drained = new();
    private readonly CancellationTokenSource _hardStop;
    private readonly List<Task> _tasks = [];

    /// <param name="sharedSlots">
    /// With several streams of one job type (partitions, priority lanes), the permits all their consumers take before a
    /// job starts: the type's <c>Concurrency</c>, shared, higher lanes first. Null for a type with one stream (its slots
    /// are the limit).
    /// </param>
    public JobConsumer(
        JobStreamClient stream, JobExecutor executor, EntryFate fate, Func<Task<IStreamReader>> connectReader, WorkerMetrics metrics,
        TimeProvider time, ILogger logger, PrioritySlots? sharedSlots = null)
    {
        (_stream, _settings, _executor, _logger) = (stream, stream.Settings, executor, logger);
        if (_settings.RateLimit.Limit > 0)
        {
            _limiter = new StartRateLimiter(stream.Redis, _settings, stream.Consumer, (d, first) => _dispatcher!.Hand(d, inline: false, first), metrics, time, logger);
        }

        // A rate-limited consumer holds what its slots can start, no more: what it holds beyond waits in the stream,
        // where a peer with a free slot may take it.
        var credits = new CreditGate(_settings.Concurrency + (_limiter is null ? _settings.BatchSize : 0));
        var prefetch = new PrefetchSizer(_settings.Prefetch, _settings.Concurrency, _settings.BatchSize);
        _hardStop = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _acker = new Acker(ids => stream.AckAsync(ids), _owned, _settings.JobType, time, logger);
        _dispatcher = new JobDispatcher(_settings, executor.ExecuteAsync, fate.ApplyAsync, _acker, credits, _owned, prefetch, sharedSlots, time, logger);
        _reader = new EntryReader(
            stream, entries => executor.LookUpSucceeded(entries), connectReader, _owned, _dispatcher, _acker, credits, _limiter, prefetch, metrics, time, logger);
        _maintenance = new ConsumerMaintenance(stream, _owned, metrics, time, logger);
    }

    public JobTypeSettings Settings => _settings;

    public string ConsumerName => _stream.Consumer;

    /// <summary>The older of the reader's and the maintenance loop's last beats: a stalled loop shows here.</summary>
    public DateTimeOffset LastBeat =>
        new(Math.Min(_reader.LastBeatTicks, _maintenance.LastBeatTicks), TimeSpan.Zero);

    /// <summary>When a job last finished here (acked, retried or dead-lettered); readiness uses it to tell stuck from idle.</summary>
    public DateTimeOffset LastProgress => _dispatcher.LastProgress;

    public bool IsStopping => _stopping.IsCancellationRequested;

    /// <summary>Entries this consumer holds: running, waiting for a slot, or waiting for their ack.</summary>
    public int OwnedCount => _owned.Count;

    /// <summary>
    /// Connects the reader and makes sure the group exists before <see cref="Start"/>, so the first read goes out as
    /// soon as the host is up. Gives up quietly after <paramref name="limit"/>: the read loop then keeps trying.
    /// </summary>
    public Task PrepareAsync(TimeSpan limit) => _reader.PrepareAsync(limit);

    public void Start()
    {
        _tasks.Add(Task.Run(() => _reader.RunAsync(_stopping.Token)));
        var allSettled = _dispatcher.RunAsync(_stopping.Token, _hardStop.Token);
        _ = allSettled.ContinueWith(_ => _drained.Cancel(), TaskScheduler.Default);
        _tasks.Add(allSettled);
        _tasks.Add(Task.Run(() => _acker.RunAsync(allSettled, _hardStop.Token)));
        _tasks.Add(Task.Run(() => _maintenance.RunAsync(_stopping.Token, _drained.Token)));
        if (_limiter is not null)
        {
            _tasks.Add(Task.Run(() => _limiter.RunAsync(_stopping.Token)));
        }

        LogStarted(_logger, _settings.JobType, _settings.StreamKey, _settings.Group, _stream.Consumer, _settings.Concurrency);
    }

    /// <summary>
    /// Stops reading, lets running jobs finish within <paramref name="drainTimeout"/>, then cancels what is left.
    /// Entries not finished stay pending and are released to peers; nothing is acked that did not complete.
    /// </summary>
    public async Task StopAsync(TimeSpan drainTimeout)
    {
        BeginStop(drainTimeout);
        try
        {
            await Task.WhenAll(_tasks);
        }
        catch (Exception e)
        {
            LogLoopCrashed(_logger, e, _settings.JobType, "stop");
        }

        // Whatever is still owned never reached a slot, or finished with its ack abandoned (its effects are
        // committed; a redelivery finds them): hand it to a peer now rather than after the visibility timeout.
        var (unstarted, started) = _dispatcher.Releases(_owned.Keys);
        if (unstarted.Length + started.Length > 0)
        {
            try
            {
                var released = await _stream.ReleaseAsync(unstarted, started).WaitAsync(TimeSpan.FromSeconds(2));
                LogReleased(_logger, (int)released, _settings.JobType);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogReleaseFailed(_logger, e, unstarted.Length + started.Length, _settings.JobType);
            }
        }

        if (_reader.Reader is { } connection)
        {
            await connection.DisposeAsync();
        }

        _executor.Dispose();
        LogStopped(_logger, _settings.JobType, _stream.Consumer);
    }

    /// <summary>The reader in use, if connected: the pool unblocks all readers at once when stopping.</summary>
    public IStreamReader? Reader => _reader.Reader;

    /// <summary>Stops reading and starting jobs at once; <see cref="StopAsync"/> then waits for the drain.</summary>
    public void BeginStop(TimeSpan drainTimeout)
    {
        if (!_stopping.IsCancellationRequested)
        {
            _stopping.Cancel();
            _hardStop.CancelAfter(drainTimeout);
        }
    }
}
