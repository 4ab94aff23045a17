using Microsoft.Extensions.DependencyInjection;
using Worker.Hosting;
using Worker.Streams;

namespace Worker.Admin;

/// <summary><c>enqueue &lt;type&gt; &lt;payload-json&gt; [--job-id ID]</c>: prints the job id.</summary>
internal static class EnqueueCommand
{
    public const string Usage = "enqueue <type> <payload-json> [--job-id ID]";

    public static Task<int> ExecuteAsync(string[] args)
    {
        var positional = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || args[i - 1] != "--job-id")).ToArray();
        var jobIdAt = Array.IndexOf(args, "--job-id");
        if (positional.Length != 2 || (jobIdAt >= 0 && jobIdAt + 1 >= args.Length))
        {
            Console.Error.WriteLine($"usage: {Usage}");
            return Task.FromResult(ExitCodes.Usage);
        }

        var jobId = jobIdAt >= 0 ? args[jobIdAt + 1] : null;
        return WorkerHost.RunAsync(WorkerHost.CreateBuilder(consumers: false), async host =>
        {
            var queue = host.Services.GetRequiredService<JobQueue>();
            try
            {
                Console.WriteLine(await queue.EnqueueAsync(positional[0], positional[1], jobId));
                return ExitCodes.Ok;
            }
            catch (QueueFullException e)
            {
                Console.Error.WriteLine($"enqueue: {e.Message}");
                return ExitCodes.QueueFull;
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"enqueue: {e.Message}");
                return ExitCodes.Usage;
            }
        });
    }
}
