namespace Worker.Persistence;

/// <summary>What the <c>jobs</c> row said when an execution began.</summary>
internal readonly record struct JobStart(JobStatus Status, int Attempts)
{
    /// <summary>A previous delivery already committed this job's effects: ack and do nothing.</summary>
    public bool AlreadySucceeded => Status == JobStatus.Succeeded;
}
