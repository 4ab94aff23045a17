using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Worker.Hosting;
using Worker.Streams;

namespace Worker.Admin;

/// <summary>
/// <c>stats [--json] [--type T]</c>: per stream of each job type (partition, lane) its length, lag, pending, consumers,
/// oldest pending age, dead letters, delayed entries (retries and delayed jobs) and the type's remembered cancels.
/// </summary>
internal static class StatsCommand
{
    public static Task<int> ExecuteAsync(bool json, string? type) =>
        WorkerHost.RunAsync(WorkerHost.CreateBuilder(consumers: false), async host =>
        {
            if (AdminContext.JobTypes(host, type) is not { } types)
            {
                return ExitCodes.Usage;
            }

            var db = host.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
            var now = TimeProvider.System.GetUtcNow();
            var stats = new List<StreamStats>();
            foreach (var settings in types)
            {
                stats.Add(await StreamStats.ReadAsync(db, settings, now));
            }

            if (json)
            {
                WriteJson(stats);
            }
            else
            {
                WriteTable(stats);
            }

            return ExitCodes.Ok;
        });

    private static void WriteJson(List<StreamStats> stats)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var json = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var s in stats)
            {
                json.WriteStartObject();
                json.WriteString("job_type", s.JobType);
                json.WriteString("stream", s.Stream);
                json.WriteString("group", s.Group);
                json.WriteNumber("length", s.Length);
                WriteNullable(json, "lag", s.Lag);
                json.WriteNumber("pending", s.Pending);
                json.WriteNumber("consumers", s.Consumers);
                WriteNullable(json, "oldest_pending_age_ms", s.OldestPendingAgeMs);
                json.WriteNumber("dead_letters", s.DeadLetters);
                json.WriteNumber("delayed", s.Delayed);
                json.WriteNumber("cancelled", s.Cancelled);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        stdout.WriteByte((byte)'\n');
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, long? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void WriteTable(List<StreamStats> stats)
    {
        Console.WriteLine($"{"job type",-16} {"stream",-24} {"length",8} {"lag",8} {"pending",8} {"consumers",9} {"oldest",10} {"dlq",8} {"delayed",8} {"cancelled",9}");
        foreach (var s in stats)
        {
            var oldest = s.OldestPendingAgeMs is { } ms ? $"{ms / 1000.0:0.0}s" : "-";
            Console.WriteLine($"{s.JobType,-16} {s.Stream,-24} {s.Length,8} {s.Lag?.ToString() ?? "?",8} {s.Pending,8} {s.Consumers,9} {oldest,10} {s.DeadLetters,8} {s.Delayed,8} {s.Cancelled,9}");
        }
    }
}
