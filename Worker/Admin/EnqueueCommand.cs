using Microsoft.Extensions.DependencyInjection;
using Worker.Hosting;
using Worker.Jobs;
using Worker.Streams;

namespace Worker.Admin;

/// <summary>
/// <c>enqueue &lt;type&gt; &lt;payload-json&gt; [--job-id ID]</c>: prints the job id.
/// <c>enqueue &lt;type&gt; --from FILE [--job-id-field NAME] [--batch-size N]</c>: one JSON payload a line (<c>-</c>: standard
/// input), enqueued in batches; prints how many went in (EnqueueCommand.Bulk.cs).
/// Either takes <c>--at WHEN</c> or <c>--in DURATION</c> (the jobs do not start before then) and <c>--priority</c>.
/// The command line is read by <see cref="Cli"/>.
/// </summary>
internal static partial class EnqueueCommand
{
    public static Task<int> ExecuteAsync(Arguments parsed)
    {
        if (parsed.From is not null)
        {
            return BulkAsync(parsed);
        }

        return WorkerHost.RunAsync(WorkerHost.CreateBuilder(consumers: false), async host =>
        {
            var queue = host.Services.GetRequiredService<JobQueue>();
            try
            {
                Console.WriteLine(await queue.EnqueueAsync(parsed.Type, parsed.Payload!, parsed.JobId, runAt: parsed.RunAt, priority: parsed.Priority));
                return ExitCodes.Ok;
            }
            catch (QueueFullException e)
            {
                Console.Error.WriteLine($"enqueue: {e.Message}");
                return ExitCodes.QueueFull;
            }
            catch (ReplicaWriteTimeoutException e)
            {
                Console.Error.WriteLine($"enqueue: not confirmed: {e.Message}; enqueue it again with the same --job-id to be sure");
                return ExitCodes.Failure;
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"enqueue: {e.Message}");
                return ExitCodes.Usage;
            }
        });
    }

    /// <summary>The command line, checked: one form or the other, each flag with its value.</summary>
    internal sealed record Arguments(string Type, string? Payload, string? JobId, string? From, string? JobIdField, int BatchSize)
    {
        public const int DefaultBatchSize = 500;
        public const int MaxBatchSize = 10_000;

        /// <summary>When the jobs may start at the earliest (<c>--at</c>, <c>--in</c>); null: at once.</summary>
        public DateTimeOffset? RunAt { get; init; }

        /// <summary>The lane of the jobs (<c>--priority</c>).</summary>
        public JobPriority Priority { get; init; } = JobPriority.Normal;
    }
}
