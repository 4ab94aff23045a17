using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using StackExchange.Redis;
using Worker.Diagnostics;
using Worker.Persistence;

namespace Worker.Jobs;

/// <summary>
/// Runs one delivered entry of one job type to an outcome: validation, the effects-once check, the handler under
/// its timeout with brief in-process retries (Polly), and the decision that follows (success, retry at a time, dead
/// letter with a reason, cancelled, released). What that does to the entry in Redis, to its row and to the events is
/// not decided here: the transport's <c>EntryFate</c> applies the <see cref="JobOutcome"/>.
/// </summary>
internal sealed partial class JobExecutor : IDisposable
{
    private static readonly ResiliencePropertyKey<AttemptRun> RunKey = new("worker.attempt-run");

    /// <summary>Longest Retry-After honoured from a remote server: one hour.</summary>
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(1);

    private readonly IServiceScopeFactory _scopes;
    private readonly Lazy<JobStateBatcher> _batcher;
    private readonly IJobHandler _handler;
    private readonly IDeliveryStarts _starts;
    private readonly string _consumer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly WorkerMetrics _metrics;
    private readonly JobTypeSettings _settings;
    private readonly ResiliencePipeline _inlineRetry;
    private readonly LastChanceGate _gate;
    private readonly RunningRowClock? _clock;
    private readonly string _entryJobIdSuffix;
    private readonly IJobCancellations? _cancels;
    private AttemptTimeouts? _timeouts;

    public JobExecutor(
        IServiceScopeFactory scopes, Lazy<JobStateBatcher> batcher, IJobHandler handler, JobTypeSettings settings, string consumer,
        IDeliveryStarts starts, LastChanceGate gate, ResiliencePipeline inlineRetry, WorkerMetrics metrics, TimeProvider time, ILogger logger,
        IJobCancellations? cancels = null)
    {
        _cancels = cancels;
        cancels?.Register(CancelRunning);
        _batcher = batcher;
        (_scopes, _handler, _settings, _consumer, _starts, _gate, _inlineRetry, _metrics, _time, _logger) =
            (scopes, handler, settings, consumer, starts, gate, inlineRetry, metrics, time, logger);
        _entryJobIdSuffix = _settings.EntryJobIdSuffix;
        if (_settings.PersistState && _settings.RecordRunningAfter > TimeSpan.Zero)
        {
            // Each slot runs one execution at a time: twice the slots is room to spare.
            _clock = new RunningRowClock(_settings.Concurrency * 2, _settings.RecordRunningAfter, time);
        }
    }

    /// <summary>
    /// The brief in-process retry of one job type, registered once per type (<c>AddResiliencePipelines</c>, keyed by
    /// the type) and run by each of its executors. Whether a failure is retried here, and after how long, is the run's
    /// own decision (<see cref="ShouldRetryInline"/>): the delay decides between a retry in process and one scheduled
    /// in Redis, so it is known before the pipeline asks, and the pipeline takes it as it is.
    /// </summary>
    public static void AddInlineRetry(ResiliencePipelineBuilder builder, JobTypeSettings settings, WorkerMetrics metrics) =>
        builder.AddRetry(new RetryStrategyOptions
        {
            Name = "inline-retry",
            MaxRetryAttempts = Math.Max(1, settings.Retry.MaxAttempts),
            ShouldHandle = args => ValueTask.FromResult(
                args.Context.Properties.GetValue(RunKey, null!) is { } run && run.Executor.ShouldRetryInline(args.Outcome.Exception, run)),
            OnRetry = _ =>
            {
                metrics.RecordRetried(settings.JobType);
                return ValueTask.CompletedTask;
            },
            DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(args.Context.Properties.GetValue(RunKey, null!).NextDelay),
        });

    /// <summary>
    /// Never throws for a job's own failure. While Redis or PostgreSQL are down it waits and tries again, keeping the
    /// entry pending, until they return or <paramref name="hardStop"/> fires (then the entry is released).
    /// </summary>
    /// <remarks>The async state of this and of the methods under it is pooled, not allocated per job.</remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<JobOutcome> ExecuteAsync(Delivery delivery, CancellationToken hardStop) =>
        // After an infrastructure failure the job begins as a redelivery does: its row first, which also tells a
        // duplicate (the look made for its read may be what failed).
        await InfrastructureFailure.RetryAsync(
            (Executor: this, Delivery: delivery, HardStop: hardStop),
            static (s, firstTry) => s.Executor.ExecuteOnceAsync(s.Delivery, mayDefer: firstTry, s.HardStop),
            _logger, _settings.JobType, delivery.Id, _time, hardStop) ?? JobOutcome.Released;

    public void Dispose() => _clock?.Dispose();

    /// <summary>Stops the running execution of <paramref name="jobId"/>, if one runs here; true when one did.</summary>
    private bool CancelRunning(string jobId) => _timeouts?.Cancel(jobId) ?? false;

    private bool IsCancelled(string jobId) => _cancels?.IsCancelled(jobId) == true;

    /// <summary>
    /// With job state, the look made for one read: which of its entries carry a job id (given by the producer) of a job
    /// that already succeeded. One query per read, so that first deliveries can skip their begin row and still never
    /// run a duplicate; null when no entry needs it (entries without a job id of their own cannot be duplicates).
    /// </summary>
    public Task<HashSet<string>>? LookUpSucceeded(ReadOnlySpan<StreamEntry> entries)
    {
        // No clock: no begin is deferred, and the begin row itself tells a duplicate.
        if (_clock is null)
        {
            return null;
        }

        List<string>? ids = null;
        foreach (var entry in entries)
        {
            if (JobEnvelope.OwnJobId(entry) is { } id)
            {
                (ids ??= []).Add(id);
            }
        }

        return ids is null ? null : _batcher.Value.FindSucceededAsync(_settings.JobType, [.. ids]);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<JobOutcome> ExecuteOnceAsync(Delivery delivery, bool mayDefer, CancellationToken hardStop)
    {
        if (delivery.DeliveryCount > _settings.MaxDeliveries && !await NeverReallyStartedAsync(delivery, hardStop))
        {
            return Unreadable(
                delivery, "delivery_limit_exceeded",
                $"delivered {delivery.DeliveryCount} times (limit {_settings.MaxDeliveries}); the job may be crashing its worker");
        }

        if (Screen(delivery, out var envelope) is { } screened)
        {
            return screened;
        }

        using var activity = WorkerActivity.StartProcess(envelope.Type, _settings.StreamKey, envelope.JobId, envelope.EntryId, envelope.TraceParent);
        using var logScope = JobLogScope.Enter(envelope.JobId, envelope.Type, envelope.EntryId);
        // Before the attempt is counted: a process that dies while this entry waits has not started it.
        using var turn = await _gate.EnterAsync(lastChance: delivery.DeliveryCount >= _settings.MaxDeliveries, hardStop);
        if (_settings.CountsStartsOf(delivery))
        {
            await _starts.RecordStartAsync(delivery.Id).WaitAsync(hardStop);
        }

        // The DI scope and the store (with the pooled DbContext behind it) only when something asks: not for a
        // stateless job whose handler needs no services.
        await using var scope = new MessageScope(_scopes);
        AttemptBegin? begin = null;
        if (_settings.PersistState)
        {
            begin = await BeginAsync(delivery, envelope, mayDefer, hardStop);
            if (begin is null)
            {
                return new JobOutcome(OutcomeKind.Duplicate, envelope, envelope.Attempt);
            }
        }

        var context = new JobContext(envelope, delivery.DeliveryCount, _consumer, scope, _settings.PersistState, begin);
        var run = new AttemptRun(this, context, Timeouts(hardStop), begin);
        Task<JobStart>? begun;
        try
        {
            try
            {
                await RunAttemptsAsync(run, hardStop);
            }
            catch (PermanentJobException e)
            {
                await EnsureBegunAsync(begin, hardStop);
                return DeadLetter(envelope, context.Attempt, e.Reason, e.Message);
            }
            catch (JobCancelledException)
            {
                return new JobOutcome(OutcomeKind.Cancelled, envelope, context.Attempt) { Running = true };
            }
            // A cancellation that is not the hard stop's (a handler's own timeout, a library's, such as an HTTP connect
            // timeout) is the job's failure like any other: it must not escape and leave the entry pending for ever.
            catch (Exception e) when ((e is not OperationCanceledException || !hardStop.IsCancellationRequested) && !InfrastructureFailure.Is(e))
            {
                await EnsureBegunAsync(begin, hardStop);
                return RetryLaterOrDeadLetter(envelope, context.Attempt, e);
            }
        }
        finally
        {
            begun = begin?.Stop();
        }

        // With job state, unless the effects' transaction wrote it, the success row is still to be committed: the
        // slot goes on to its next job meanwhile, and the entry is acked once the row is.
        return new JobOutcome(OutcomeKind.Succeeded, envelope, context.Attempt)
        {
            Duration = run.LastDuration,
            RecordsSuccess = _settings.PersistState && !context.EffectsSettled,
            Begun = begun,
        };
    }

    /// <summary>
    /// Reads the entry and what decides it before it runs: the outcome when it does not run now (unreadable, of another
    /// type, cancelled, delayed), null when it does.
    /// </summary>
    private JobOutcome? Screen(Delivery delivery, out JobEnvelope envelope)
    {
        if (!TryParse(delivery, out envelope, out var reason, out var message))
        {
            return Unreadable(delivery, reason, message);
        }

        if (envelope.Type != _handler.JobType)
        {
            return DeadLetter(
                envelope, envelope.Attempt, "unknown_type",
                $"job type '{Truncate(envelope.Type, 100)}' has no handler on stream '{_settings.StreamKey}'");
        }

        if (IsCancelled(envelope.JobId))
        {
            return new JobOutcome(OutcomeKind.Cancelled, envelope, envelope.Attempt);
        }

        if (envelope.RunAt is { } runAt && runAt > _time.GetUtcNow())
        {
            return new JobOutcome(OutcomeKind.Delay, envelope, envelope.Attempt) { DueAt = runAt };
        }

        return null;
    }

    /// <summary>
    /// The execution's begin row: written before the handler starts for a redelivered or retried job (its starts tell
    /// poison from innocence) and when <see cref="JobTypeSettings.RecordRunningAfter"/> is zero; otherwise deferred
    /// until the handler has run that long, after the look made for the read says the job is no duplicate. Null when
    /// the job already succeeded.
    /// </summary>
    private async Task<AttemptBegin?> BeginAsync(Delivery delivery, JobEnvelope envelope, bool mayDefer, CancellationToken hardStop)
    {
        var batcher = _batcher.Value;
        var ownId = envelope.JobId != envelope.EntryId;
        if (mayDefer && _clock is not null && delivery.DeliveryCount == 1 && envelope.Attempt == 1
            && (!ownId || delivery.Succeeded is not null))
        {
            if (ownId && (await delivery.Succeeded!.WaitAsync(hardStop)).Contains(envelope.JobId))
            {
                return null;
            }

            return _clock.Start(batcher, envelope.Type, envelope.JobId, envelope.EntryId);
        }

        var start = await batcher.BeginAttemptAsync(envelope.Type, envelope.JobId, envelope.EntryId, hardStop);
        return start.AlreadyFinished ? null : AttemptBegin.Written(batcher, envelope.Type, envelope.JobId, envelope.EntryId);
    }

    /// <summary>A failure's row is an update of the begin row, so a deferred begin is written first.</summary>
    private static Task EnsureBegunAsync(AttemptBegin? begin, CancellationToken hardStop) =>
        begin?.EnsureAsync(hardStop) ?? Task.CompletedTask;

    /// <summary>
    /// The first execution runs directly, so a job that succeeds pays nothing for the retry pipeline. A failure that
    /// qualifies for a brief in-process retry hands over to the pipeline, which replays that failure as its first
    /// outcome: its delay, its retry count and the later executions are then the pipeline's, as if it had run all.
    /// </summary>
    private async ValueTask RunAttemptsAsync(AttemptRun run, CancellationToken hardStop)
    {
        try
        {
            await run.ExecuteAttemptAsync(hardStop);
            return;
        }
        catch (Exception e) when (ShouldRetryInline(e, run))
        {
            run.Replay = ExceptionDispatchInfo.Capture(e);
        }

        var resilience = ResilienceContextPool.Shared.Get(hardStop);
        resilience.Properties.Set(RunKey, run);
        try
        {
            await _inlineRetry.ExecuteAsync(static (rc, r) => r.ExecuteAttemptAsync(rc.CancellationToken), resilience, run);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(resilience);
        }
    }

    /// <summary>The reusable timeout sources tied to <paramref name="hardStop"/> (one consumer passes one token).</summary>
    private AttemptTimeouts Timeouts(CancellationToken hardStop)
    {
        var timeouts = _timeouts;
        if (timeouts is null || timeouts.HardStop != hardStop)
        {
            _timeouts = timeouts = new AttemptTimeouts(_time, _settings.HandlerTimeout, hardStop);
        }

        return timeouts;
    }

    /// <summary>
    /// Redis counts deliveries, and an entry also gets one when its worker dies while holding it unstarted (a
    /// prefetched entry beside a poison job is reclaimed each time that job kills a worker). What counts is how often it
    /// really started: with job state the <c>jobs</c> row tells; without, the starts recorded for its redeliveries
    /// (<see cref="JobTypeSettings.StartsKey"/>; the first delivery's start is not recorded, which would cost a write per
    /// job, so a job that kills its worker runs once more there). Fewer starts than the limit means it is innocent and
    /// runs; as many means it is the one crashing its workers.
    /// </summary>
    private async Task<bool> NeverReallyStartedAsync(Delivery delivery, CancellationToken hardStop)
    {
        if (!_settings.PersistState)
        {
            return await _starts.StartsAsync(delivery.Id).WaitAsync(hardStop) < _settings.MaxDeliveries;
        }

        if (!TryParse(delivery, out var envelope, out _, out _))
        {
            return false;
        }

        await using var scope = _scopes.CreateAsyncScope();
        var starts = await scope.ServiceProvider.GetRequiredService<JobStateStore>().FindStartsAsync(envelope.Type, envelope.JobId, hardStop);
        if (starts is not { } row || row.EntryId != envelope.EntryId)
        {
            return true;
        }

        // Attempts before this entry ran on earlier entries (one per attempt number); the rest are this entry's starts.
        var startsOfThisEntry = row.Attempts - (envelope.Attempt - 1);
        return startsOfThisEntry < _settings.MaxDeliveries;
    }

    private bool ShouldRetryInline(Exception? exception, AttemptRun run)
    {
        if (exception is null or PermanentJobException or JobCancelledException or OperationCanceledException || InfrastructureFailure.Is(exception))
        {
            return false;
        }

        if (run.Context.Attempt >= _settings.Retry.MaxAttempts)
        {
            return false;
        }

        var delay = RetryDelay(exception, run.Context.Attempt);
        if (delay > _settings.Retry.InlineThreshold)
        {
            return false;
        }

        run.NextDelay = delay;
        return true;
    }

    private TimeSpan RetryDelay(Exception exception, int failedAttempt) =>
        exception is TransientJobException { RetryAfter: { } after }
            ? TimeSpan.FromTicks(Math.Clamp(after.Ticks, 0, MaxRetryAfter.Ticks))
            : Backoff.Delay(_settings.Retry, failedAttempt, Random.Shared);

    private JobOutcome RetryLaterOrDeadLetter(JobEnvelope envelope, int attempt, Exception error)
    {
        var (errorType, errorMessage) = Describe(error);
        if (attempt >= _settings.Retry.MaxAttempts)
        {
            return DeadLetter(envelope, attempt, "attempts_exhausted", $"{errorType}: {errorMessage}");
        }

        return new JobOutcome(OutcomeKind.Retry, envelope, attempt)
        {
            DueAt = _time.GetUtcNow() + RetryDelay(error, attempt),
            Reason = errorType,
            Message = errorMessage,
            Error = error is TransientJobException ? null : error,
        };
    }

    /// <summary>
    /// Reads the entry. A job without a <c>job_id</c> is known by its entry id; beyond a job type's first partition and
    /// in a priority lane that id is qualified with the stream (<c>&lt;entry id&gt;:p&lt;n&gt;</c>, <c>:high</c>), since
    /// two streams can hand out the same entry id and the <c>jobs</c> row of one would make the other a duplicate.
    /// </summary>
    private bool TryParse(Delivery delivery, out JobEnvelope envelope, out string reason, out string message)
    {
        if (!JobEnvelope.TryParse(delivery.Entry, delivery.Id, out envelope, out reason, out message))
        {
            return false;
        }

        if (_entryJobIdSuffix.Length > 0 && envelope.JobId == envelope.EntryId)
        {
            envelope = envelope with { JobId = envelope.EntryId + _entryJobIdSuffix };
        }

        return true;
    }

    /// <summary>An entry that cannot be read as a job: dead-lettered with every original field, job id and type best effort.</summary>
    private JobOutcome Unreadable(Delivery delivery, string reason, string message)
    {
        var fields = delivery.Entry.Values;
        var jobId = Field(fields, StreamFields.JobId) is { Length: > 0 } id ? id : delivery.Id;
        var type = Field(fields, StreamFields.Type) ?? _settings.JobType;
        var envelope = new JobEnvelope(type, Field(fields, StreamFields.Payload) ?? string.Empty, jobId, delivery.Id, 1, null, null, fields);
        return DeadLetter(envelope, attempt: 0, reason, message);
    }

    private static JobOutcome DeadLetter(JobEnvelope envelope, int attempt, string reason, string message) =>
        new(OutcomeKind.DeadLetter, envelope, attempt) { Reason = reason, Message = message };

    private static (string Type, string Message) Describe(Exception error) => error switch
    {
        TransientJobException t => (t.Reason, t.Message),
        _ => (error.GetType().Name, error.Message),
    };

    private static string? Field(NameValueEntry[] fields, string name)
    {
        foreach (var f in fields)
        {
            if (f.Name == name)
            {
                return f.Value;
            }
        }

        return null;
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];

    /// <summary>The state of one delivery's executions, shared with the retry pipeline's callbacks.</summary>
    private sealed class AttemptRun(JobExecutor executor, JobContext context, AttemptTimeouts timeouts, AttemptBegin? begin)
    {
        private int _executions;

        public JobExecutor Executor => executor;

        public JobContext Context => context;

        public TimeSpan NextDelay { get; set; }

        public TimeSpan LastDuration { get; private set; }

        /// <summary>The first execution's failure, given to the retry pipeline as its first outcome.</summary>
        public ExceptionDispatchInfo? Replay { get; set; }

        public async ValueTask ExecuteAttemptAsync(CancellationToken cancellationToken)
        {
            if (Replay is { } replay)
            {
                Replay = null;
                replay.Throw();
            }

            if (_executions++ > 0)
            {
                context.Attempt++;
                if (executor._settings.PersistState)
                {
                    // The first attempt's row before this one's, so that each counts.
                    await EnsureBegunAsync(begin, cancellationToken);
                    await executor._batcher.Value.BeginAttemptAsync(context.JobType, context.JobId, context.EntryId, cancellationToken);
                }
            }

            // The pipeline's token is the hard stop's: one source carries it, the timeout and a cancel of the job.
            var lease = timeouts.Rent(executor._settings.HandlerTimeout, context.JobId);
            if (executor.IsCancelled(context.JobId))
            {
                // Cancelled before the lease could be found: the watch's look for it may have just missed it.
                timeouts.Cancel(context.JobId);
            }

            var started = WorkerMetrics.Now();
            try
            {
                // WaitAsync: a handler that ignores its token still gives the slot back at the timeout.
                await executor._handler.HandleAsync(context, lease.Token).WaitAsync(lease.Token);
                LastDuration = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            }
            catch (OperationCanceledException) when (lease.Cancelled)
            {
                throw new JobCancelledException(context.JobId);
            }
            catch (OperationCanceledException) when (lease.TimedOut)
            {
                executor._metrics.RecordFailed(context.JobType, System.Diagnostics.Stopwatch.GetElapsedTime(started));
                throw new TransientJobException(
                    "handler_timeout", $"the handler did not finish within {executor._settings.HandlerTimeout.TotalSeconds:0.###} s");
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                executor._metrics.RecordFailed(context.JobType, System.Diagnostics.Stopwatch.GetElapsedTime(started));
                throw;
            }
            finally
            {
                lease.Release();
            }
        }
    }
}
