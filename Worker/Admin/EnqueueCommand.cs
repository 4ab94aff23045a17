using Microsoft.Extensions.DependencyInjection;
using Worker.Hosting;
using Worker.Streams;

namespace Worker.Admin;

/// <summary>
/// <c>enqueue &lt;type&gt; &lt;payload-json&gt; [--job-id ID]</c>: prints the job id.
/// <c>enqueue &lt;type&gt; --from FILE [--job-id-field NAME] [--batch-size N]</c>: one JSON payload a line (<c>-</c>: standard
/// input), enqueued in batches; prints how many went in (EnqueueCommand.Bulk.cs).
/// </summary>
internal static partial class EnqueueCommand
{
    public const string Usage = """
        enqueue <type> <payload-json> [--job-id ID]
        enqueue <type> --from FILE|- [--job-id-field NAME] [--batch-size N]
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
                Console.WriteLine(await queue.EnqueueAsync(parsed.Type, parsed.Payload!, parsed.JobId));
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
        public const int DefaultBatchSize = 500;
        private const int MaxBatchSize = 10_000;

        public static Arguments? Parse(string[] args)
        {
            var positional = new List<string>();
            string? jobId = null, from = null, idField = null, batch = null;
            for (var i = 0; i < args.Length; i++)
            {
                var arg = args[i];
                if (!arg.StartsWith("--", StringComparison.Ordinal))
                {
                    positional.Add(arg);
                    continue;
                }

                if (arg is not ("--job-id" or "--from" or "--job-id-field" or "--batch-size"))
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
                    default: batch = value; break;
                }
            }

            var batchSize = DefaultBatchSize;
            if (batch is not null && (!int.TryParse(batch, out batchSize) || batchSize is < 1 or > MaxBatchSize))
            {
                return Fail($"--batch-size must be between 1 and {MaxBatchSize} (was '{batch}')");
            }

            if (from is null)
            {
                return positional.Count == 2 && idField is null && batch is null
                    ? new Arguments(positional[0], positional[1], jobId, null, null, batchSize)
                    : Fail(null);
            }

            return positional.Count == 1 && jobId is null
                ? new Arguments(positional[0], null, null, from, idField, batchSize)
                : Fail(null);
        }

        private static Arguments? Fail(string? problem)
        {
            Console.Error.WriteLine(problem is null ? $"usage: {Usage}" : $"enqueue: {problem}\nusage: {Usage}");
            return null;
        }
    }
}
