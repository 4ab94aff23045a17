namespace Worker.Jobs;

/// <summary>
/// Runs one job type. Return normally for success; throw <see cref="PermanentJobException"/> for a job that can
/// never succeed (dead-lettered at once); any other exception is transient and retried with backoff.
/// A handler with effects applies them through <see cref="JobContext.ApplyEffectsOnceAsync"/>.
/// </summary>
internal interface IJobHandler
{
    string JobType { get; }

    /// <summary>False for job types that only run when configured on (<c>noop</c>).</summary>
    bool EnabledByDefault => true;

    Task HandleAsync(JobContext context, CancellationToken cancellationToken);
}
