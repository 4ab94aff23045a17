namespace Worker.Persistence;

/// <summary>What the <c>jobs</c> row said when an execution began: counted as started, or already succeeded.</summary>
internal readonly record struct JobStart(bool AlreadySucceeded)
{
    public static readonly JobStart Started = new(false);

    /// <summary>A previous delivery already committed this job's effects: ack and do nothing.</summary>
    public static readonly JobStart Succeeded = new(true);
}
