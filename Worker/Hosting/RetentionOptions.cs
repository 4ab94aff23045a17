namespace Worker.Hosting;

/// <summary>How long finished work is kept, bound from <c>Worker:Retention</c>. Zero keeps it forever.</summary>
internal sealed class RetentionOptions
{
    public const string SectionName = "Worker:Retention";

    /// <summary>Dead letters older than this (by entry id, i.e. when they were dead-lettered) are removed: 14 days.</summary>
    public TimeSpan DeadLetters { get; set; } = TimeSpan.FromDays(14);

    /// <summary><c>jobs</c> rows succeeded or dead-lettered longer ago than this are deleted: 30 days.</summary>
    public TimeSpan FinishedJobs { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often retention runs: 5 minutes.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);
}
