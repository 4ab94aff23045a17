using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Worker.Hosting;

namespace Worker.Admin;

/// <summary><c>dlq list [--json] [--type T] [--count N]</c>: dead letters, newest first, with every field.</summary>
internal static class DlqCommand
{
    public const string Usage = "dlq list [--json] [--type T] [--count N]";
    private const int DefaultCount = 100;

    public static Task<int> ExecuteAsync(string[] args)
    {
        if (args.Length == 0 || args[0] != "list")
        {
            Console.Error.WriteLine($"usage: {Usage}");
            return Task.FromResult(ExitCodes.Usage);
        }

        var count = DefaultCount;
        if (AdminContext.Option(args, "--count") is { } text && (!int.TryParse(text, out count) || count < 1))
        {
            Console.Error.WriteLine($"dlq: --count must be a positive integer (was '{text}')");
            return Task.FromResult(ExitCodes.Usage);
        }

        return WorkerHost.RunAsync(WorkerHost.CreateBuilder(consumers: false), async host =>
        {
            if (AdminContext.JobTypes(host, AdminContext.Option(args, "--type")) is not { } types)
            {
                return ExitCodes.Usage;
            }

            var db = host.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
            var letters = new List<(string Key, StreamEntry Entry)>();
            foreach (var settings in types)
            {
                var entries = await db.StreamRangeAsync(settings.DeadLetterKey, count: count, messageOrder: Order.Descending);
                letters.AddRange(entries.Select(e => (settings.DeadLetterKey, e)));
            }

            if (args.Contains("--json"))
            {
                WriteJson(letters);
            }
            else
            {
                foreach (var (key, entry) in letters)
                {
                    string? Get(string name) => entry.Values.FirstOrDefault(v => v.Name == name).Value;
                    Console.WriteLine($"{key} {entry.Id} job={Get("job_id") ?? entry.Id} type={Get("type")} error={Get("error_type")}: {Get("error_message")}");
                }
            }

            return ExitCodes.Ok;
        });
    }

    private static void WriteJson(List<(string Key, StreamEntry Entry)> letters)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var json = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var (key, entry) in letters)
            {
                json.WriteStartObject();
                json.WriteString("stream", key);
                json.WriteString("id", entry.Id.ToString());
                json.WriteStartObject("fields");
                foreach (var field in entry.Values)
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
