using Worker.Persistence;

namespace Worker.Jobs.Noop;

/// <summary>A job that does nothing unless its payload asks, for smoke tests and benchmarks. Off by default.</summary>
internal sealed class NoopHandler(TimeProvider time) : IJobHandler
{
    public const string Type = "noop";

    /// <summary>Longest simulated work accepted: 10 minutes.</summary>
    private const int MaxDelayMs = 600_000;

    public string JobType => Type;

    public bool EnabledByDefault => false;

    public async Task HandleAsync(JobContext context, CancellationToken cancellationToken)
    {
        // The empty payload is the benchmark's case: skip deserialization for it.
        var payload = context.Payload is "{}" or "" ? NoopPayload.Empty : context.GetPayload(NoopJsonContext.Default.NoopPayload);
        if (payload.Crash)
        {
            Environment.FailFast($"noop job {context.JobId} asked to crash the process");
        }

        if (payload.DelayMs > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(payload.DelayMs, MaxDelayMs)), time, cancellationToken);
        }

        switch (payload.Fail)
        {
            case null or "":
                break;
            case "transient" when payload.FailAttempts is not { } n || context.Attempt <= n:
                throw new TransientJobException("noop_transient", $"noop failed on attempt {context.Attempt} as asked");
            case "transient":
                break;
            case "permanent":
                throw new PermanentJobException("noop_permanent", "noop failed permanently as asked");
            default:
                throw new PermanentJobException("malformed_payload", $"'fail' must be \"transient\" or \"permanent\", not \"{payload.Fail}\"");
        }

        if (payload.Effect)
        {
            await ApplyEffectAsync(context, cancellationToken);
        }
    }

    /// <summary>In a method of its own: the lambda's closure is then allocated only for a job that asks for the effect.</summary>
    private Task ApplyEffectAsync(JobContext context, CancellationToken cancellationToken) =>
        context.ApplyEffectsOnceAsync(
            (db, _) =>
            {
                db.NoopEffects.Add(new NoopEffect { JobId = context.JobId, Consumer = context.Consumer, AppliedAt = time.GetUtcNow() });
                return Task.CompletedTask;
            },
            cancellationToken);
}
