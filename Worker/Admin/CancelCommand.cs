using Microsoft.Extensions.DependencyInjection;
using Worker.Hosting;
using Worker.Streams;

namespace Worker.Admin;

/// <summary>
/// <c>cancel &lt;type&gt; &lt;job-id&gt;</c>: a waiting job never runs, a running one has its token cancelled on the replica
/// that runs it; both end <c>cancelled</c>. A job that had finished is left alone (exit 4, and the line says how it ended).
/// </summary>
internal static class CancelCommand
{
    public static Task<int> ExecuteAsync(string type, string jobId)
    {
        return WorkerHost.RunAsync(WorkerHost.CreateBuilder(consumers: false), async host =>
        {
            var queue = host.Services.GetRequiredService<JobQueue>();
            if (!queue.Knows(type, out var known))
            {
                Console.Error.WriteLine($"cancel: unknown job type '{type}' (known: {known})");
                return ExitCodes.Usage;
            }

            var result = await queue.CancelAsync(type, jobId);
            if (!result.Cancelled)
            {
                Console.WriteLine($"job {jobId} of {type} had already finished ({result.Status}); nothing changed");
                return ExitCodes.AlreadyFinished;
            }

            Console.WriteLine(result.Status is null
                ? $"cancelled {jobId} (no job state is kept for {type}: if it had finished, nothing changed)"
                : $"cancelled {jobId}");
            return ExitCodes.Ok;
        });
    }
}
