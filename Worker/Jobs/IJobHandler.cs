namespace Worker.Jobs;

/// <summary>
/// Runs one job type. Return normally for success; throw <see cref="PermanentJobException"/> for a job that can
/// never succeed (dead-lettered at once); any other exception is transient and retried with backoff.
/// A handler with effects applies them through <see cref="JobContext.ApplyEffectsOnceAsync"/>.
/// <para>
/// A job picked up by an idle worker starts on the reader's thread and runs there until its first await, so the next
/// read waits for that part: put heavy computing after an await (a consumer whose jobs keep holding the reader moves
/// its pickups to the pool for a while; docs/engine.md).
/// </para>
/// </summary>
internal interface IJobHandler
{
    string JobType { get; }

    /// <summary>False for job types that only run when configured on (<c>noop</c>).</summary>
    bool EnabledByDefault => true;

    Task HandleAsync(JobContext context, CancellationToken cancellationToken);
}
