namespace Worker.Jobs;

/// <summary>The job types as configured (<c>Worker:Jobs</c>), each resolved to its settings on demand.</summary>
internal sealed class JobTypeCatalog(IReadOnlyDictionary<string, JobTypeOptions> jobs)
{
    /// <summary>The settings of <paramref name="jobType"/>: its options, or the defaults when it has none.</summary>
    public JobTypeSettings Resolve(string jobType) => JobTypeSettings.Resolve(jobType, jobs.GetValueOrDefault(jobType));

    /// <summary>Whether this replica consumes <paramref name="handler"/>'s type: its <c>Enabled</c>, else the handler's default.</summary>
    public bool IsEnabled(IJobHandler handler) => jobs.GetValueOrDefault(handler.JobType)?.Enabled ?? handler.EnabledByDefault;
}
