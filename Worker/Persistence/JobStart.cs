namespace Worker.Persistence;

/// <summary>What the <c>jobs</c> row said when an execution began: counted as started, or already finished (succeeded or cancelled).</summary>
internal readonly record struct JobStart(bool AlreadyFinished)
{
    public static readonly JobStart Started = new(false);

    /// <summary>A previous delivery already committed this job's effects, or the job was cancelled: ack and do nothing.</summary>
    public static readonly JobStart Succeeded = new(true);
}
