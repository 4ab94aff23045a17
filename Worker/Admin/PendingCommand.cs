using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Worker.Hosting;

namespace Worker.Admin;

/// <summary><c>pending [--json] [--type T] [--count N]</c>: entries delivered and not yet acked, per consumer, with idle time and delivery count.</summary>
internal static class PendingCommand
{
    public const int DefaultCount = 50;

    public static Task<int> ExecuteAsync(bool json, string? type, int count)
    {
        return WorkerHost.RunAsync(WorkerHost.CreateBuilder(consumers: false), async host =>
        {
            if (AdminContext.JobTypes(host, type) is not { } types)
            {
                return ExitCodes.Usage;
            }

            var db = host.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
            var rows = new List<(string JobType, StreamPendingMessageInfo Info)>();
            foreach (var settings in types)
            {
                if (!await db.KeyExistsAsync(settings.StreamKey))
                {
                    continue;
                }

                try
                {
                    var pending = await db.StreamPendingMessagesAsync(settings.StreamKey, settings.Group, count, RedisValue.Null);
                    rows.AddRange(pending.Select(p => (settings.JobType, p)));
                }
                catch (RedisServerException e) when (e.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
                {
                }
            }

            if (json)
            {
                using var stdout = Console.OpenStandardOutput();
                using (var json = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
                {
                    json.WriteStartArray();
                    foreach (var (jobType, info) in rows)
                    {
                        json.WriteStartObject();
                        json.WriteString("job_type", jobType);
                        json.WriteString("id", info.MessageId.ToString());
                        json.WriteString("consumer", info.ConsumerName.ToString());
                        json.WriteNumber("idle_ms", info.IdleTimeInMilliseconds);
                        json.WriteNumber("deliveries", info.DeliveryCount);
                        json.WriteEndObject();
                    }

                    json.WriteEndArray();
                }

                stdout.WriteByte((byte)'\n');
                return ExitCodes.Ok;
            }

            foreach (var consumer in rows.GroupBy(r => (r.JobType, Consumer: r.Info.ConsumerName.ToString())))
            {
                Console.WriteLine($"{consumer.Key.JobType} {consumer.Key.Consumer}: {consumer.Count()} pending");
                foreach (var (_, info) in consumer)
                {
                    Console.WriteLine($"  {info.MessageId} idle {info.IdleTimeInMilliseconds / 1000.0:0.0}s deliveries {info.DeliveryCount}");
                }
            }

            return ExitCodes.Ok;
        });
    }
}
