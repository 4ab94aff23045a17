using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Worker.Jobs;

namespace Worker.Streams;

/// <summary>
/// One consumer's slots: each runs one held entry at a time through the executor, applies its fate, and gives its
/// credit back. A success whose row is still being written does not hold its slot: the entry keeps its credit and is
/// settled when the row commits. Entries that never started when the consumer stops, and those whose execution did
/// not finish, are kept apart for the stop to release.
/// </summary>
internal sealed partial class JobDispatcher
{
    private readonly SlotDispatcher<Delivery> _slots = new();
    private readonly JobTypeSettings _settings;
    private readonly Func<Delivery, CancellationToken, ValueTask<JobOutcome>> _execute;
    private readonly Func<Delivery, JobOutcome, CancellationToken, ValueTask<DeliveryOutcome>> _apply;
    private readonly Acker _acker;
    private readonly CreditGate _credits;
    private readonly ConcurrentDictionary<string, byte> _owned;
    private readonly PrefetchSizer _prefetch;
    private readonly PrioritySlots? _sharedSlots;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    // Entries to hand back on stop: held but never started (their delivery is not charged), and started but not
    // finished (the drain timed out, or Redis or PostgreSQL stayed down: charged as an execution that did not finish).
    private readonly ConcurrentQueue<string> _unstarted = new();
    private readonly ConcurrentQueue<string> _unfinished = new();
    private readonly TaskCompletionSource _recordingsDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Successes whose job state row is still being written, and whether the slots have ended (no new ones come then).
    private int _recordings;
    private int _slotsDone;
    private long _lastProgressTicks;

    /// <param name="sharedSlots">
    /// With several streams of one job type (partitions, priority lanes), the permits all their consumers take before a
    /// job starts: the type's <c>Concurrency</c>, shared, higher lanes first. Null for a type with one stream.
    /// </param>
    public JobDispatcher(
        JobTypeSettings settings,
        Func<Delivery, CancellationToken, ValueTask<JobOutcome>> execute,
        Func<Delivery, JobOutcome, CancellationToken, ValueTask<DeliveryOutcome>> apply,
        Acker acker,
        CreditGate credits,
        ConcurrentDictionary<string, byte> owned,
        PrefetchSizer prefetch,
        PrioritySlots? sharedSlots,
        TimeProvider time,
        ILogger logger)
    {
        (_settings, _execute, _apply, _acker, _credits, _owned, _prefetch, _sharedSlots, _time, _logger) =
            (settings, execute, apply, acker, credits, owned, prefetch, sharedSlots, time, logger);
        _lastProgressTicks = time.GetUtcNow().UtcTicks;
    }

    /// <summary>When a job last finished here (acked, retried or dead-lettered); readiness uses it to tell stuck from idle.</summary>
    public DateTimeOffset LastProgress => new(Interlocked.Read(ref _lastProgressTicks), TimeSpan.Zero);

    /// <summary>
    /// Starts the slots. The task ends when every slot has ended (after <see cref="Complete"/>) and every success they
    /// left has been recorded and settled.
    /// </summary>
    public Task RunAsync(CancellationToken stopping, CancellationToken hardStop)
    {
        var slots = new Task[_settings.Concurrency];
        for (var i = 0; i < slots.Length; i++)
        {
            slots[i] = Task.Run(() => SlotLoopAsync(stopping, hardStop));
        }

        return SettledAsync(Task.WhenAll(slots));
    }

    /// <summary>
    /// Gives a held entry, whose credit the caller took, to a slot (<paramref name="first"/>: ahead of those waiting;
    /// <paramref name="inline"/>: an idle slot starts it on this thread). Once completed, the entry stays held and the
    /// stop releases it.
    /// </summary>
    public void Hand(Delivery delivery, bool inline = false, bool first = false) => _slots.TryDispatch(delivery, inline, first);

    /// <summary>No more entries: each slot ends once the entries queued for it are done.</summary>
    public void Complete() => _slots.Complete();

    /// <summary>What the stop hands back: entries never started (and those still held), and those started but not finished.</summary>
    public (string[] Unstarted, string[] Started) Releases(IEnumerable<string> stillHeld)
    {
        var started = _unfinished.Distinct().ToArray();
        return ([.. _unstarted.Concat(stillHeld).Distinct().Except(started)], started);
    }

    private async Task SlotLoopAsync(CancellationToken stopping, CancellationToken hardStop)
    {
        var slot = new SlotDispatcher<Delivery>.Slot();
        while (await _slots.NextAsync(slot))
        {
            var delivery = slot.Item;
            if (stopping.IsCancellationRequested || (_sharedSlots is not null && !await _sharedSlots.TakeAsync(_settings.Lane, stopping)))
            {
                // Read but not started: leave it pending for a peer instead of starting work during a drain.
                _unstarted.Enqueue(delivery.Id);
                _owned.TryRemove(delivery.Id, out _);
                _credits.Release(1);
                continue;
            }

            var outcome = await ExecuteAsync(delivery, hardStop);
            var settling = Apply(delivery, outcome, hardStop);
            if (!settling.IsCompleted && outcome.Kind == OutcomeKind.Succeeded)
            {
                // Its success row is on its way: the slot takes the next job, the entry is settled when it commits.
                Interlocked.Increment(ref _recordings);
                _ = SettleWhenRecordedAsync(delivery, settling.AsTask());
                continue;
            }

            Settle(delivery, settling.IsCompletedSuccessfully ? settling.Result : await SettledOrReleasedAsync(delivery, settling));
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<JobOutcome> ExecuteAsync(Delivery delivery, CancellationToken hardStop)
    {
        var started = _time.GetTimestamp();
        try
        {
            var outcome = await _execute(delivery, hardStop);
            _prefetch.Record(_time.GetElapsedTime(started));
            return outcome;
        }
        catch (Exception e)
        {
            // A bug, not a job failure: keep the loop, keep the entry pending (a peer or a restart retries it).
            LogSlotError(_logger, e, _settings.JobType, delivery.Id);
            return JobOutcome.Released;
        }
        finally
        {
            _sharedSlots?.Release();
        }
    }

    /// <summary>Starts applying the outcome; a bug that throws at once releases the entry, keeping the loop.</summary>
    private ValueTask<DeliveryOutcome> Apply(Delivery delivery, JobOutcome outcome, CancellationToken hardStop)
    {
        try
        {
            return _apply(delivery, outcome, hardStop);
        }
        catch (Exception e)
        {
            LogSlotError(_logger, e, _settings.JobType, delivery.Id);
            return new ValueTask<DeliveryOutcome>(DeliveryOutcome.Release);
        }
    }

    /// <summary>What the fate of a finished entry left to do; a bug in applying it releases the entry, keeping the loop.</summary>
    private async ValueTask<DeliveryOutcome> SettledOrReleasedAsync(Delivery delivery, ValueTask<DeliveryOutcome> settling)
    {
        try
        {
            return await settling;
        }
        catch (Exception e)
        {
            LogSlotError(_logger, e, _settings.JobType, delivery.Id);
            return DeliveryOutcome.Release;
        }
    }

    /// <summary>Acks, forgets or queues for release a finished entry, and gives its credit back.</summary>
    private void Settle(Delivery delivery, DeliveryOutcome outcome)
    {
        switch (outcome)
        {
            case DeliveryOutcome.Ack:
                _acker.Enqueue(delivery.Id);
                break;
            case DeliveryOutcome.Settled:
                _owned.TryRemove(delivery.Id, out _);
                break;
            case DeliveryOutcome.Release:
                _unfinished.Enqueue(delivery.Id);
                _owned.TryRemove(delivery.Id, out _);
                break;
        }

        Interlocked.Exchange(ref _lastProgressTicks, _time.GetUtcNow().UtcTicks);
        _credits.Release(1);
    }

    private async Task SettleWhenRecordedAsync(Delivery delivery, Task<DeliveryOutcome> recording)
    {
        DeliveryOutcome outcome;
        try
        {
            outcome = await recording;
        }
        catch (Exception e)
        {
            LogSlotError(_logger, e, _settings.JobType, delivery.Id);
            outcome = DeliveryOutcome.Release;
        }

        Settle(delivery, outcome);
        if (Interlocked.Decrement(ref _recordings) == 0 && Volatile.Read(ref _slotsDone) != 0)
        {
            _recordingsDone.TrySetResult();
        }
    }

    private async Task SettledAsync(Task slots)
    {
        try
        {
            await slots;
        }
        finally
        {
            Volatile.Write(ref _slotsDone, 1);
            if (Volatile.Read(ref _recordings) == 0)
            {
                _recordingsDone.TrySetResult();
            }

            await _recordingsDone.Task;
        }
    }

    [LoggerMessage(EventId = 1005, EventName = "ConsumerLoopError", Level = LogLevel.Error,
        Message = "Unexpected error in the {JobType} consumer at {MessageId}; the entry stays pending")]
    private static partial void LogSlotError(ILogger logger, Exception error, string jobType, string messageId);
}
