namespace Worker.Jobs;

/// <summary>The job types as configured (<c>Worker:Jobs</c>), each resolved to its settings on demand.</summary>
internal sealed class JobTypeCatalog(IReadOnlyDictionary<string, JobTypeOptions> jobs)
{
    /// <summary>The settings of <paramref name="jobType"/>: its options, or the defaults when it has none.</summary>
    public JobTypeSettings Resolve(string jobType) => JobTypeSettings.Resolve(jobType, jobs.GetValueOrDefault(jobType));
}
