using Microsoft.Extensions.DependencyInjection;
using Worker.Hosting;
using Worker.Jobs;
using Worker.Streams;

namespace Worker.Admin;

/// <summary>
/// <c>enqueue &lt;type&gt; &lt;payload-json&gt; [--job-id ID]</c>: prints the job id.
/// <c>enqueue &lt;type&gt; --from FILE [--job-id-field NAME] [--batch-size N]</c>: one JSON payload a line (<c>-</c>: standard
/// input), enqueued in batches; prints how many went in (EnqueueCommand.Bulk.cs).
/// Either takes <c>--at WHEN</c> or <c>--in DURATION</c>: the jobs do not start before then (<see cref="StartTime"/>).
/// </summary>
internal static partial class EnqueueCommand
{
    public const string Usage = """
        enqueue <type> <payload-json> [--job-id ID] [--at WHEN | --in DURATION] [--priority high|normal|low]
        enqueue <type> --from FILE|- [--job-id-field NAME] [--batch-size N] [--at WHEN | --in DURATION] [--priority P]
        """;

    public static Task<int> ExecuteAsync(string[] args)
    {
        if (Arguments.Parse(args) is not { } parsed)
        {
            return Task.FromResult(ExitCodes.Usage);
        }

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

    /// <summary>The command line, checked: every flag known and given its value, one form or the other.</summary>
    private sealed record Arguments(string Type, string? Payload, string? JobId, string? From, string? JobIdField, int BatchSize)
    {
        /// <summary>When the jobs may start at the earliest (<c>--at</c>, <c>--in</c>); null: at once.</summary>
        public DateTimeOffset? RunAt { get; init; }

        /// <summary>The lane of the jobs (<c>--priority</c>).</summary>
        public JobPriority Priority { get; init; } = JobPriority.Normal;

        public const int DefaultBatchSize = 500;
        private const int MaxBatchSize = 10_000;

        public static Arguments? Parse(string[] args)
        {
            var positional = new List<string>();
            string? jobId = null, from = null, idField = null, batch = null, at = null, @in = null, priorityText = null;
            for (var i = 0; i < args.Length; i++)
            {
                var arg = args[i];
                if (!arg.StartsWith("--", StringComparison.Ordinal))
                {
                    positional.Add(arg);
                    continue;
                }

                if (arg is not ("--job-id" or "--from" or "--job-id-field" or "--batch-size" or "--at" or "--in" or "--priority"))
                {
                    return Fail($"unknown option {arg}");
                }

                if (i + 1 >= args.Length)
                {
                    return Fail($"{arg} needs a value");
                }

                var value = args[++i];
                switch (arg)
                {
                    case "--job-id": jobId = value; break;
                    case "--from": from = value; break;
                    case "--job-id-field": idField = value; break;
                    case "--at": at = value; break;
                    case "--in": @in = value; break;
                    case "--priority": priorityText = value; break;
                    default: batch = value; break;
                }
            }

            var batchSize = DefaultBatchSize;
            if (batch is not null && (!int.TryParse(batch, out batchSize) || batchSize is < 1 or > MaxBatchSize))
            {
                return Fail($"--batch-size must be between 1 and {MaxBatchSize} (was '{batch}')");
            }

            var priority = JobPriority.Normal;
            if (priorityText is not null && !JobPriorities.TryParse(priorityText, out priority))
            {
                return Fail($"--priority must be high, normal or low (was '{priorityText}')");
            }

            DateTimeOffset? runAt = null;
            if (at is not null && @in is not null)
            {
                return Fail("give --at or --in, not both");
            }

            if (at is not null)
            {
                if (!StartTime.TryParseAt(at, out var when, out var problem))
                {
                    return Fail(problem);
                }

                runAt = when;
            }

            if (@in is not null)
            {
                if (!StartTime.TryParseIn(@in, out var delay, out var problem))
                {
                    return Fail(problem);
                }

                runAt = TimeProvider.System.GetUtcNow() + delay;
            }

            if (from is null)
            {
                return positional.Count == 2 && idField is null && batch is null
                    ? new Arguments(positional[0], positional[1], jobId, null, null, batchSize) { RunAt = runAt, Priority = priority }
                    : Fail(null);
            }

            return positional.Count == 1 && jobId is null
                ? new Arguments(positional[0], null, null, from, idField, batchSize) { RunAt = runAt, Priority = priority }
                : Fail(null);
        }

        private static Arguments? Fail(string? problem)
        {
            Console.Error.WriteLine(problem is null ? $"usage: {Usage}" : $"enqueue: {problem}\nusage: {Usage}");
            return null;
        }
    }
}
