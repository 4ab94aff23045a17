using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;
using Worker.Hosting;
using Worker.Jobs;
using Worker.Streams;

namespace Worker.Admin;

/// <summary>
/// <c>dlq list|show|replay|purge</c>. Filters: <c>--type T --error TEXT --since WHEN --until WHEN --id ID</c>.
/// <c>replay</c> moves matching dead letters back to their streams (job id kept, attempts from zero) at
/// <c>--rate</c> per second; <c>purge</c> deletes them; both accept <c>--dry-run</c> and report what they did.
/// </summary>
internal static class DlqCommand
{
    public const int DefaultCount = 100;
    public const int DefaultRate = 100;

    /// <summary>One of the four verbs, with what the command line gave it (<see cref="Cli"/>).</summary>
    public static Task<int> ExecuteAsync(
        string verb, string? id, string? type, DeadLetterFilter filter, int count, int rate, int limit, bool json, bool dryRun) =>
        WorkerHost.RunAsync(WorkerHost.CreateBuilder(consumers: false), async host =>
        {
            if (AdminContext.JobTypes(host, type) is not { } types)
            {
                return ExitCodes.Usage;
            }

            var db = host.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
            var stores = types.Select(t => (Settings: t, Store: new DeadLetterStore(db, t))).ToList();
            return verb switch
            {
                "list" => await ListAsync(stores, filter, count, json),
                "show" => await ShowAsync(stores, id!),
                "replay" => await ReplayAsync(stores, filter, rate, limit, dryRun),
                _ => await PurgeAsync(stores, filter, limit, dryRun),
            };
        });

    private static async Task<int> ListAsync(List<(JobTypeSettings Settings, DeadLetterStore Store)> stores, DeadLetterFilter filter, int count, bool json)
    {
        var letters = new List<DeadLetter>();
        foreach (var (_, store) in stores)
        {
            // Unfiltered, only the newest are read; a filter has to look at them all.
            var unfiltered = filter is { ErrorText: null, Since: null, Until: null, Ids.Count: 0 };
            letters.AddRange((await store.NewestAsync(unfiltered ? count : int.MaxValue)).Where(filter.Matches).Take(count));
        }

        if (json)
        {
            WriteJson(letters);
        }
        else
        {
            foreach (var letter in letters)
            {
                Console.WriteLine($"{letter.Stream} {letter.Id} job={letter.JobId} type={letter.Field("type")} failed_at={letter.FailedAt:O} {letter.ErrorType}: {letter.ErrorMessage}");
            }
        }

        return ExitCodes.Ok;
    }

    private static async Task<int> ShowAsync(List<(JobTypeSettings Settings, DeadLetterStore Store)> stores, string id)
    {
        foreach (var (_, store) in stores)
        {
            await foreach (var letter in store.ScanAsync())
            {
                if (letter.Id == id || letter.JobId == id)
                {
                    WriteJson([letter]);
                    return ExitCodes.Ok;
                }
            }
        }

        Console.Error.WriteLine($"dlq: no dead letter {id}");
        return ExitCodes.Failure;
    }

    private static async Task<int> ReplayAsync(
        List<(JobTypeSettings Settings, DeadLetterStore Store)> stores, DeadLetterFilter filter, int rate, int limit, bool dryRun)
    {
        var matching = await MatchingAsync(stores, filter, limit);
        var progress = new ProgressBar(matching.Count, dryRun ? "would replay" : "replaying");
        var interval = TimeSpan.FromSeconds(1.0 / rate);
        var clock = Stopwatch.StartNew();
        var moved = 0;
        foreach (var (store, letter) in matching)
        {
            if (!dryRun)
            {
                // Paced so a large replay does not flood the workers or Redis.
                var due = interval * moved;
                if (due > clock.Elapsed)
                {
                    await Task.Delay(due - clock.Elapsed);
                }

                if (await store.ReplayAsync(letter) is null)
                {
                    continue;
                }
            }

            moved++;
            progress.Report(moved);
        }

        progress.Done();
        Console.WriteLine(dryRun
            ? $"dlq replay: would replay {moved} dead letters (dry run)"
            : $"dlq replay: replayed {moved} of {matching.Count} matching dead letters");
        return ExitCodes.Ok;
    }

    private static async Task<int> PurgeAsync(
        List<(JobTypeSettings Settings, DeadLetterStore Store)> stores, DeadLetterFilter filter, int limit, bool dryRun)
    {
        var matching = await MatchingAsync(stores, filter, limit);
        long removed = 0;
        if (!dryRun)
        {
            foreach (var group in matching.GroupBy(m => m.Store))
            {
                foreach (var chunk in group.Select(m => m.Letter.Id).Chunk(500))
                {
                    removed += await group.Key.DeleteAsync(chunk);
                }
            }
        }

        Console.WriteLine(dryRun
            ? $"dlq purge: would delete {matching.Count} dead letters (dry run)"
            : $"dlq purge: deleted {removed} dead letters");
        return ExitCodes.Ok;
    }

    private static async Task<List<(DeadLetterStore Store, DeadLetter Letter)>> MatchingAsync(
        List<(JobTypeSettings Settings, DeadLetterStore Store)> stores, DeadLetterFilter filter, int limit)
    {
        var matching = new List<(DeadLetterStore, DeadLetter)>();
        foreach (var (_, store) in stores)
        {
            await foreach (var letter in store.ScanAsync())
            {
                if (matching.Count >= limit)
                {
                    return matching;
                }

                if (filter.Matches(letter))
                {
                    matching.Add((store, letter));
                }
            }
        }

        return matching;
    }

    private static void WriteJson(IEnumerable<DeadLetter> letters)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var json = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var letter in letters)
            {
                json.WriteStartObject();
                json.WriteString("stream", letter.Stream);
                json.WriteString("id", letter.Id);
                json.WriteString("job_id", letter.JobId);
                json.WriteStartObject("fields");
                foreach (var field in letter.Fields)
                {
                    json.WriteString(field.Name.ToString(), field.Value.ToString());
                }

                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        stdout.WriteByte((byte)'\n');
    }
}
