using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Worker.Hosting;
using Worker.Streams;

namespace Worker.Admin;

/// <summary><c>enqueue &lt;type&gt; --from FILE</c>: a file (or standard input) of payloads, one a line, in batches.</summary>
internal static partial class EnqueueCommand
{
    /// <summary>Failed batches in a row after which the rest is not tried (Redis is gone, or the queue stays full): 3.</summary>
    private const int GiveUpAfter = 3;

    /// <summary>Failure messages printed before the rest are only counted: 10.</summary>
    private const int ShownFailures = 10;

    private static Task<int> BulkAsync(Arguments args)
    {
        TextReader input;
        int? total = null;
        try
        {
            if (args.From == "-")
            {
                input = Console.In;
            }
            else
            {
                // Counted first for the progress bar: a file of payloads reads twice far faster than it enqueues.
                total = File.ReadLines(args.From!).Count(l => !string.IsNullOrWhiteSpace(l));
                input = File.OpenText(args.From!);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"enqueue: cannot read {args.From}: {e.Message}");
            return Task.FromResult(ExitCodes.Usage);
        }

        return WorkerHost.RunAsync(WorkerHost.CreateBuilder(consumers: false), async host =>
        {
            using var _ = input;
            var queue = host.Services.GetRequiredService<JobQueue>();
            if (!queue.Knows(args.Type, out var known))
            {
                Console.Error.WriteLine($"enqueue: unknown job type '{args.Type}' (known: {known})");
                return ExitCodes.Usage;
            }

            var tally = new Tally();
            var progress = new ProgressBar(total, $"enqueueing {args.Type}");
            var batch = new List<JobRequest>(args.BatchSize);
            var batchLine = 0;
            var lineNumber = 0;
            while (await input.ReadLineAsync() is { } line)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                tally.Lines++;
                if (tally.GaveUp)
                {
                    continue;
                }

                if (Request(line, args.JobIdField, out var problem) is not { } parsedRequest)
                {
                    tally.Fail($"line {lineNumber}: {problem}", 1);
                    continue;
                }

                if (batch.Count == 0)
                {
                    batchLine = lineNumber;
                }

                batch.Add(parsedRequest with { RunAt = args.RunAt, Priority = args.Priority });
                if (batch.Count == args.BatchSize)
                {
                    await SendAsync(queue, args.Type, batch, batchLine, tally);
                    progress.Report(tally.Enqueued + tally.Failed);
                }
            }

            if (batch.Count > 0 && !tally.GaveUp)
            {
                await SendAsync(queue, args.Type, batch, batchLine, tally);
            }

            progress.Report(tally.Enqueued + tally.Failed);
            progress.Done();
            return tally.Report(args.Type);
        });
    }

    private static JobRequest? Request(string line, string? jobIdField, out string? problem)
    {
        problem = null;
        try
        {
            using var json = JsonDocument.Parse(line);
            if (jobIdField is null)
            {
                return new JobRequest(line);
            }

            if (json.RootElement.ValueKind != JsonValueKind.Object || !json.RootElement.TryGetProperty(jobIdField, out var id)
                || id.ValueKind is not (JsonValueKind.String or JsonValueKind.Number) || id.ToString().Length == 0)
            {
                problem = $"no string or number field '{jobIdField}' for the job id";
                return null;
            }

            return new JobRequest(line, id.ToString());
        }
        catch (JsonException e)
        {
            problem = $"not JSON: {e.Message}";
            return null;
        }
    }

    private static async Task SendAsync(JobQueue queue, string type, List<JobRequest> batch, int firstLine, Tally tally)
    {
        try
        {
            await queue.EnqueueBatchAsync(type, batch);
            tally.Succeeded(batch.Count);
        }
        catch (ReplicaWriteTimeoutException e)
        {
            tally.Fail($"lines from {firstLine} ({batch.Count} jobs): not confirmed: {e.Message}", batch.Count, unconfirmed: true);
        }
        catch (QueueFullException e)
        {
            tally.Fail($"lines from {firstLine} ({batch.Count} jobs): {e.Message}", batch.Count, queueFull: true);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            tally.Fail($"lines from {firstLine} ({batch.Count} jobs): {e.GetType().Name}: {e.Message}", batch.Count);
        }

        batch.Clear();
    }

    /// <summary>What went in and what did not, and the exit code that says so.</summary>
    private sealed class Tally
    {
        private int _failedInARow;
        private int _shown;
        private bool _onlyQueueFull = true;

        public int Lines { get; set; }

        public int Enqueued { get; private set; }

        public int Failed { get; private set; }

        /// <summary>Jobs on the master that no replica confirmed (within <see cref="Failed"/>).</summary>
        public int Unconfirmed { get; private set; }

        public bool GaveUp => _failedInARow >= GiveUpAfter;

        public void Succeeded(int count)
        {
            Enqueued += count;
            _failedInARow = 0;
        }

        public void Fail(string message, int count, bool unconfirmed = false, bool queueFull = false)
        {
            Failed += count;
            Unconfirmed += unconfirmed ? count : 0;
            _onlyQueueFull &= queueFull;
            if (count > 1 || unconfirmed || queueFull)
            {
                _failedInARow++;
            }

            if (_shown++ < ShownFailures)
            {
                Console.Error.WriteLine($"enqueue: {message}");
            }
        }

        public int Report(string type)
        {
            Console.WriteLine($"enqueued {Enqueued} of {Lines} {type} jobs");
            if (Enqueued == Lines)
            {
                return ExitCodes.Ok;
            }

            var notTried = Lines - Enqueued - Failed;
            var unconfirmed = Unconfirmed > 0 ? $"; {Unconfirmed} reached the master without a replica's confirmation (enqueue them again with their job ids to be sure)" : string.Empty;
            var gaveUp = notTried > 0 ? $"; gave up after {GiveUpAfter} failed batches in a row, {notTried} not tried" : string.Empty;
            Console.Error.WriteLine($"enqueue: {Failed} failed{unconfirmed}{gaveUp}; {Enqueued} went in");
            return _onlyQueueFull && notTried == 0 ? ExitCodes.QueueFull : ExitCodes.Failure;
        }
    }
}
