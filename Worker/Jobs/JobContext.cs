using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Worker.Persistence;

namespace Worker.Jobs;

/// <summary>What a handler knows of the job it runs, and the ways it reports back. One per execution.</summary>
internal sealed class JobContext(
    JobEnvelope envelope, long deliveryCount, string consumer, MessageScope scope, bool persistState, AttemptBegin? begin = null)
{
    public string JobId => envelope.JobId;
    public string JobType => envelope.Type;
    public string EntryId => envelope.EntryId;
    public string Payload => envelope.Payload;
    public string? TraceParent => envelope.TraceParent;
    public DateTimeOffset? EnqueuedAt => envelope.EnqueuedAt;
    public long DeliveryCount => deliveryCount;
    public string Consumer => consumer;

    /// <summary>The number (1-based) of this execution among all of the job's attempts.</summary>
    public int Attempt { get; internal set; } = envelope.Attempt;

    /// <summary>The message's DI scope, created on first use.</summary>
    public IServiceProvider Services => scope.Services;

    /// <summary>True once <see cref="ApplyEffectsOnceAsync"/> has committed (or found committed) the job's effects.</summary>
    public bool EffectsSettled { get; private set; }

    /// <summary>Deserializes the payload; a payload of the wrong shape is a permanent failure.</summary>
    public T GetPayload<T>(JsonTypeInfo<T> typeInfo)
    {
        try
        {
            return JsonSerializer.Deserialize(Payload, typeInfo)
                ?? throw new PermanentJobException("malformed_payload", "the payload is null");
        }
        catch (JsonException e)
        {
            throw new PermanentJobException("malformed_payload", $"the payload does not match {typeof(T).Name}: {e.Message}", e);
        }
    }

    /// <summary>Progress as the seeds' analysis worker reports it; kept in the <c>jobs</c> row when state is persisted.</summary>
    public async Task ReportProgressAsync(int current, int total, string? message, CancellationToken cancellationToken)
    {
        if (persistState)
        {
            // Progress updates the begin row: a deferred one is written now.
            if (begin is not null)
            {
                await begin.EnsureAsync(cancellationToken);
            }

            await scope.Store.ReportProgressAsync(JobType, JobId, current, total, message, cancellationToken);
        }
    }

    /// <summary>
    /// Applies the job's database effects and marks it succeeded in one transaction, once per job however often
    /// it is delivered. Returns false when an earlier delivery already applied them; throws
    /// <see cref="JobCancelledException"/> when the job was cancelled before them (the job then ends <c>cancelled</c>).
    /// </summary>
    public async Task<bool> ApplyEffectsOnceAsync(Func<WorkerDbContext, CancellationToken, Task> effects, CancellationToken cancellationToken)
    {
        var outcome = await scope.Store.ApplyEffectsOnceAsync(JobType, JobId, EntryId, effects, cancellationToken);
        if (outcome == EffectsOutcome.Cancelled)
        {
            throw new JobCancelledException(JobId);
        }

        EffectsSettled = true;
        return outcome == EffectsOutcome.Applied;
    }
}
