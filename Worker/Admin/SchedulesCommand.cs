using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Worker.Hosting;
using Worker.Jobs;
using Worker.Scheduling;

namespace Worker.Admin;

/// <summary><c>schedules [--json]</c>: each recurring schedule with its cron, its last occurrence enqueued and its next one.</summary>
internal static class SchedulesCommand
{
    public static Task<int> ExecuteAsync(bool json)
    {
        return WorkerHost.RunAsync(WorkerHost.CreateBuilder(consumers: false), async host =>
        {
            var worker = host.Services.GetRequiredService<IOptions<WorkerOptions>>().Value;
            var known = host.Services.GetServices<IJobHandler>().Select(h => h.JobType).ToHashSet(StringComparer.Ordinal);
            var db = host.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
            var now = TimeProvider.System.GetUtcNow();
            var rows = new List<(Schedule Schedule, bool Enabled, DateTimeOffset? Last, DateTimeOffset? Next)>();
            foreach (var (name, options) in worker.Schedules.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                // The options validator has refused the host if one does not resolve.
                var schedule = Schedule.TryResolve(name, options, known.Contains, [])!;
                rows.Add((schedule, options.Enabled, await ScheduleService.LastFiredAsync(db, host.Services.GetRequiredService<JobTypeCatalog>(), schedule), options.Enabled ? schedule.NextAfter(now) : null));
            }

            if (json)
            {
                using var stdout = Console.OpenStandardOutput();
                using var json = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
                json.WriteStartArray();
                foreach (var (schedule, enabled, last, next) in rows)
                {
                    json.WriteStartObject();
                    json.WriteString("name", schedule.Name);
                    json.WriteString("type", schedule.Type);
                    json.WriteString("cron", schedule.CronText);
                    json.WriteString("time_zone", schedule.Zone.Id);
                    json.WriteBoolean("enabled", enabled);
                    WriteTime(json, "last", last);
                    WriteTime(json, "next", next);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }
            else
            {
                foreach (var (schedule, enabled, last, next) in rows)
                {
                    Console.WriteLine(
                        $"{schedule.Name} type={schedule.Type} cron=\"{schedule.CronText}\" zone={schedule.Zone.Id} {(enabled ? "enabled" : "disabled")} " +
                        $"last={last?.ToString("O") ?? "never"} next={next?.ToString("O") ?? "-"}");
                }
            }

            return ExitCodes.Ok;
        });
    }

    private static void WriteTime(Utf8JsonWriter json, string name, DateTimeOffset? time)
    {
        if (time is { } t)
        {
            json.WriteString(name, t.ToString("O"));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
