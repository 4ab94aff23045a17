using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Worker.Diagnostics;
using Worker.Events;
using Worker.Jobs;
using Worker.Persistence;

namespace Worker.Streams;

/// <summary>
/// What happens to an entry after its handler returns: the one place that applies a <see cref="JobOutcome"/>. In
/// order, for each outcome: the entry's move in Redis (the retry schedule or the dead-letter stream, each acking it in
/// the same script), then the <c>jobs</c> row that says so, then the metric and the lifecycle event (through the same
/// <see cref="EventSink"/> as the handlers' events). A success's row comes first, then its ack. What is left for the
/// consumer is the <see cref="DeliveryOutcome"/>: ack later (batched by its acker), nothing (settled here), or hand it
/// back to a peer at stop.
/// <para>
/// While Redis or PostgreSQL fail, each step waits and tries again by itself; the handler never runs again for it.
/// The hard stop ends a step that has not happened: the entry is then released, to be delivered again.
/// </para>
/// </summary>
internal sealed partial class EntryFate(
    JobStreamClient stream, IServiceScopeFactory scopes, Lazy<JobStateBatcher> batcher, JobEventPublisher events, WorkerMetrics metrics,
    TimeProvider time, ILogger logger)
{
    private const int MaxErrorMessage = 2000;

    private readonly JobTypeSettings _settings = stream.Settings;

    /// <summary>
    /// Applies <paramref name="outcome"/> of <paramref name="delivery"/>. Completes synchronously for a success
    /// without a row to write; a success whose row is still to be committed completes once it is.
    /// </summary>
    public ValueTask<DeliveryOutcome> ApplyAsync(Delivery delivery, JobOutcome outcome, CancellationToken hardStop)
    {
        var envelope = outcome.Envelope!;
        switch (outcome.Kind)
        {
            case OutcomeKind.Succeeded when outcome.RecordsSuccess:
                return new ValueTask<DeliveryOutcome>(RecordSuccessAsync(outcome, hardStop));
            case OutcomeKind.Succeeded:
                Succeeded(envelope, outcome.Attempt, outcome.Duration);
                ForgetStarts(delivery);
                return new ValueTask<DeliveryOutcome>(DeliveryOutcome.Ack);
            case OutcomeKind.Duplicate:
                LogDuplicateSkipped(logger, envelope.JobId, envelope.Type, envelope.EntryId);
                return new ValueTask<DeliveryOutcome>(DeliveryOutcome.Ack);
            case OutcomeKind.Cancelled:
                return ThenForgetStarts(delivery, CancelledAsync(outcome, hardStop));
            case OutcomeKind.Retry:
                return ThenForgetStarts(delivery, RetryLaterAsync(outcome, hardStop));
            case OutcomeKind.Delay:
                return ThenForgetStarts(delivery, DelayAsync(outcome, hardStop));
            case OutcomeKind.DeadLetter:
                return ThenForgetStarts(delivery, DeadLetterAsync(outcome, hardStop));
            default:
                return new ValueTask<DeliveryOutcome>(DeliveryOutcome.Release);
        }
    }

    /// <summary>
    /// The starts counted for a redelivery's poison check (<see cref="JobTypeSettings.CountsStartsOf"/>) are not needed
    /// once the entry is settled, and not released.
    /// </summary>
    private void ForgetStarts(Delivery delivery)
    {
        if (_settings.CountsStartsOf(delivery))
        {
            stream.ForgetStarts(delivery.Id);
        }
    }

    private ValueTask<DeliveryOutcome> ThenForgetStarts(Delivery delivery, Task<DeliveryOutcome> applying) =>
        _settings.CountsStartsOf(delivery)
            ? new ValueTask<DeliveryOutcome>(ForgetStartsAfterAsync(delivery, applying))
            : new ValueTask<DeliveryOutcome>(applying);

    private async Task<DeliveryOutcome> ForgetStartsAfterAsync(Delivery delivery, Task<DeliveryOutcome> applying)
    {
        var settled = await applying;
        if (settled != DeliveryOutcome.Release)
        {
            stream.ForgetStarts(delivery.Id);
        }

        return settled;
    }

    /// <summary>
    /// Commits the success row (after the begin row, if one was written), then counts and announces the success. While
    /// PostgreSQL is down it waits and writes again; the handler does not run again. Released on the hard stop: a peer
    /// runs the job again, as after a crash.
    /// </summary>
    private async Task<DeliveryOutcome> RecordSuccessAsync(JobOutcome outcome, CancellationToken hardStop)
    {
        var envelope = outcome.Envelope!;
        var recorded = await WhileFailingAsync(
            (Batcher: batcher, outcome.Begun, Envelope: envelope, HardStop: hardStop),
            static async (s, _) =>
            {
                var counted = false;
                if (s.Begun is not null)
                {
                    try
                    {
                        await s.Begun;
                        counted = true;
                    }
                    catch (Exception e) when (InfrastructureFailure.Is(e))
                    {
                        // The begin did not make it: the success row counts the attempt.
                    }
                }

                await s.Batcher.Value.MarkSucceededAsync(
                    s.Envelope.Type, s.Envelope.JobId, s.Envelope.EntryId, countAttempt: !counted, s.HardStop);
                return true;
            },
            envelope.EntryId, hardStop);
        if (recorded is null)
        {
            return DeliveryOutcome.Release;
        }

        Succeeded(envelope, outcome.Attempt, outcome.Duration);
        return DeliveryOutcome.Ack;
    }

    private void Succeeded(JobEnvelope envelope, int attempt, TimeSpan duration)
    {
        metrics.RecordSucceeded(envelope.Type, duration);
        if (events.Publishes(JobEvent.Succeeded))
        {
            events.Publish(new JobEvent(JobEvent.Succeeded, new JobEventData(
                envelope.JobId, envelope.Type, envelope.EntryId, attempt, time.GetUtcNow())));
        }
    }

    /// <summary>
    /// A cancelled job, met before it started or stopped while it ran: its row says <c>cancelled</c> (unless it
    /// succeeded first), then the entry is acked and <c>job.cancelled</c> announces it.
    /// </summary>
    private async Task<DeliveryOutcome> CancelledAsync(JobOutcome outcome, CancellationToken hardStop)
    {
        var envelope = outcome.Envelope!;
        if (_settings.PersistState
            && await WriteRowAsync(envelope.EntryId, envelope, hardStop, static (s, e, ct) => s.MarkCancelledAsync(e.Type, e.JobId, e.EntryId, ct)) is null)
        {
            return DeliveryOutcome.Release;
        }

        LogCancelled(logger, envelope.JobId, envelope.Type, envelope.EntryId, outcome.Running);
        metrics.RecordCancelled(envelope.Type, outcome.Running);
        events.Publish(new JobEvent(JobEvent.Cancelled, new JobEventData(
            envelope.JobId, envelope.Type, envelope.EntryId, outcome.Attempt, time.GetUtcNow())));
        return DeliveryOutcome.Ack;
    }

    /// <summary>A failure with attempts left: the next attempt waits in the delayed set, then the row says <c>failed</c>.</summary>
    private async Task<DeliveryOutcome> RetryLaterAsync(JobOutcome outcome, CancellationToken hardStop)
    {
        var envelope = outcome.Envelope!;
        if (await MoveAsync(envelope, envelope.FieldsForAttempt(outcome.Attempt + 1), outcome.DueAt, hardStop) is not { } owned)
        {
            return DeliveryOutcome.Release;
        }

        if (owned)
        {
            var error = $"{outcome.Reason}: {outcome.Message}";
            metrics.RecordRetried(envelope.Type);
            LogRetryScheduled(logger, outcome.Error, envelope.JobId, envelope.Type, envelope.EntryId, outcome.Attempt, error, outcome.DueAt);
            if (_settings.PersistState)
            {
                await WriteRowAsync(envelope.EntryId, (envelope, error), hardStop, static (s, x, ct) => s.MarkFailedAsync(x.envelope.Type, x.envelope.JobId, x.error, ct));
            }

            events.Publish(new JobEvent(JobEvent.Failed, new JobEventData(
                envelope.JobId, envelope.Type, envelope.EntryId, outcome.Attempt, time.GetUtcNow(), outcome.Reason, outcome.Message, outcome.DueAt)));
        }

        return DeliveryOutcome.Settled;
    }

    /// <summary>
    /// A delayed job read before its time: moved to the delayed set, scored by its <c>run_at</c>, in the retry
    /// schedule's script (no attempt counted, nothing written to PostgreSQL). It comes back as a new entry when due, its
    /// <c>job_id</c> pinned (an entry id otherwise), which also keeps two copies of one payload apart in the set, and its
    /// <c>run_at</c> dropped: the promotion is what says it is due, whichever replica's clock promotes it.
    /// </summary>
    private async Task<DeliveryOutcome> DelayAsync(JobOutcome outcome, CancellationToken hardStop)
    {
        var envelope = outcome.Envelope!;
        var fields = envelope.FieldsForAttempt(outcome.Attempt).Where(f => f.Name != StreamFields.RunAt).ToArray();
        if (await MoveAsync(envelope, fields, outcome.DueAt, hardStop) is not { } owned)
        {
            return DeliveryOutcome.Release;
        }

        if (owned)
        {
            LogDelayed(logger, envelope.JobId, envelope.Type, envelope.EntryId, outcome.DueAt);
        }

        return DeliveryOutcome.Settled;
    }

    /// <summary>
    /// Into the dead-letter stream with every original field and the reason (acked in the same script), then the row
    /// says <c>dead_lettered</c> (inserted for a job that never ran), then <c>job.dead_lettered</c>.
    /// </summary>
    private async Task<DeliveryOutcome> DeadLetterAsync(JobOutcome outcome, CancellationToken hardStop)
    {
        var envelope = outcome.Envelope!;
        var (reason, message) = (outcome.Reason!, outcome.Message!);
        var now = time.GetUtcNow();
        var fields = new List<NameValueEntry>(envelope.Fields.Length + 6);
        fields.AddRange(envelope.Fields);
        fields.Add(new NameValueEntry(StreamFields.ErrorType, reason));
        fields.Add(new NameValueEntry(StreamFields.ErrorMessage, message.Length <= MaxErrorMessage ? message : message[..MaxErrorMessage]));
        fields.Add(new NameValueEntry(StreamFields.Attempts, outcome.Attempt));
        fields.Add(new NameValueEntry(StreamFields.FailedAt, now.ToUnixTimeMilliseconds()));
        fields.Add(new NameValueEntry(StreamFields.Consumer, stream.Consumer));
        fields.Add(new NameValueEntry(StreamFields.OriginalId, envelope.EntryId));

        var owned = await WhileFailingAsync(
            (Stream: stream, EntryId: envelope.EntryId, Fields: fields, HardStop: hardStop),
            static (s, _) => new ValueTask<bool>(s.Stream.DeadLetterAsync(s.EntryId, s.Fields).WaitAsync(s.HardStop)),
            envelope.EntryId, hardStop);
        if (owned is null)
        {
            return DeliveryOutcome.Release;
        }

        if (owned == false)
        {
            LogOwnershipLost(logger, envelope.JobId, envelope.Type, envelope.EntryId);
            return DeliveryOutcome.Settled;
        }

        LogDeadLettered(logger, envelope.JobId, envelope.Type, envelope.EntryId, reason, message);
        metrics.RecordDeadLettered(_settings.JobType, reason);
        if (_settings.PersistState)
        {
            await WriteRowAsync(
                envelope.EntryId, (Type: _settings.JobType, Envelope: envelope, Error: $"{reason}: {message}"), hardStop,
                static (s, x, ct) => s.MarkDeadLetteredAsync(x.Type, x.Envelope.JobId, x.Envelope.EntryId, x.Error, ct));
        }

        events.Publish(new JobEvent(JobEvent.DeadLettered, new JobEventData(
            envelope.JobId, _settings.JobType, envelope.EntryId, outcome.Attempt, now, reason, message)));
        return DeliveryOutcome.Settled;
    }

    /// <summary>
    /// Acks the entry and schedules <paramref name="fields"/> as a new one at <paramref name="dueAt"/>, in one script.
    /// False when a peer had reclaimed it (logged: the peer decides); null when the hard stop came first.
    /// </summary>
    private async Task<bool?> MoveAsync(JobEnvelope envelope, NameValueEntry[] fields, DateTimeOffset dueAt, CancellationToken hardStop)
    {
        var owned = await WhileFailingAsync(
            (Stream: stream, EntryId: envelope.EntryId, Fields: fields, DueAt: dueAt, HardStop: hardStop),
            static (s, _) => new ValueTask<bool>(s.Stream.ScheduleRetryAsync(s.EntryId, s.Fields, s.DueAt).WaitAsync(s.HardStop)),
            envelope.EntryId, hardStop);
        if (owned == false)
        {
            LogOwnershipLost(logger, envelope.JobId, envelope.Type, envelope.EntryId);
        }

        return owned;
    }

    /// <summary>Writes the job's row through a scope of its own; null when the hard stop came first.</summary>
    private ValueTask<bool?> WriteRowAsync<TState>(string entryId, TState state, CancellationToken hardStop, Func<JobStateStore, TState, CancellationToken, Task> write) =>
        WhileFailingAsync(
            (Scopes: scopes, State: state, Write: write, HardStop: hardStop),
            static async (s, _) =>
            {
                await using var scope = s.Scopes.CreateAsyncScope();
                await s.Write(scope.ServiceProvider.GetRequiredService<JobStateStore>(), s.State, s.HardStop);
                return true;
            },
            entryId, hardStop);

    private ValueTask<T?> WhileFailingAsync<TState, T>(TState state, Func<TState, bool, ValueTask<T>> attempt, string entryId, CancellationToken hardStop)
        where T : struct =>
        InfrastructureFailure.RetryAsync(state, attempt, logger, _settings.JobType, entryId, time, hardStop);
}
