using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Worker.Jobs;

namespace Worker.Admin;

/// <summary>What the admin verbs share: the job types they report on, with their settings resolved.</summary>
internal static class AdminContext
{
    /// <summary>Every stream (partition, lane) of every registered job type, or of <paramref name="only"/>; null when that type is unknown.</summary>
    public static IReadOnlyList<JobTypeSettings>? JobTypes(IHost host, string? only)
    {
        var jobTypes = host.Services.GetRequiredService<JobTypeCatalog>();
        var types = host.Services.GetServices<IJobHandler>().Select(h => h.JobType).Order(StringComparer.Ordinal).ToList();
        if (only is not null)
        {
            if (!types.Contains(only))
            {
                Console.Error.WriteLine($"unknown job type '{only}' (known: {string.Join(", ", types)})");
                return null;
            }

            types = [only];
        }

        // Every partition and lane of each: its own stream, group, dead letters and delayed set.
        return types.SelectMany(t => jobTypes.Resolve(t).AllStreams()).ToList();
    }
}
