namespace Worker.Persistence;

/// <summary>A row of the <c>jobs</c> table: one job, across all its attempts.</summary>
internal sealed class JobRecord
{
    public required string Type { get; set; }
    public required string Id { get; set; }
    public string? StreamEntryId { get; set; }
    public JobStatus Status { get; set; }
    /// <summary>Executions so far.</summary>
    public int Attempts { get; set; }
    public int? ProgressCurrent { get; set; }
    public int? ProgressTotal { get; set; }
    public string? ProgressMessage { get; set; }
    public string? LastError { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
}
