using System.Text.Json;
using Cronos;

namespace Worker.Scheduling;

/// <summary>A schedule with its cron parsed and its time zone found.</summary>
internal sealed record Schedule(string Name, string Type, CronExpression Cron, string CronText, TimeZoneInfo Zone, string Payload)
{
    /// <summary>The job id of the occurrence at <paramref name="occurrence"/>: the same on every replica, so it is enqueued once.</summary>
    public string JobId(DateTimeOffset occurrence) => $"schedule:{Name}:{occurrence.ToUnixTimeMilliseconds()}";

    /// <summary>The first occurrence after <paramref name="after"/>, or null when the cron has none.</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset after) => Cron.GetNextOccurrence(after, Zone);

    /// <summary>The latest occurrence from <paramref name="from"/> (itself included) to <paramref name="until"/>.</summary>
    public DateTimeOffset LatestUntil(DateTimeOffset from, DateTimeOffset until)
    {
        var latest = from;
        foreach (var occurrence in Cron.GetOccurrences(from, until, Zone, fromInclusive: true, toInclusive: true))
        {
            latest = occurrence;
        }

        return latest;
    }

    /// <summary>Reads a schedule from its options; on failure, one line per problem, each naming its key.</summary>
    public static Schedule? TryResolve(string name, ScheduleOptions options, Func<string, bool> knownType, List<string> failures)
    {
        var key = $"Worker:Schedules:{name}";
        var before = failures.Count;
        if (string.IsNullOrWhiteSpace(options.Type) || !knownType(options.Type))
        {
            failures.Add($"{key}:Type must name a job type with a handler (was '{options.Type}')");
        }

        CronExpression? cron = null;
        var text = options.Cron?.Trim() ?? string.Empty;
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields is not (5 or 6) || !CronExpression.TryParse(text, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard, out cron))
        {
            failures.Add($"{key}:Cron must be a cron of 5 fields, or 6 with seconds first (was '{options.Cron}')");
        }

        TimeZoneInfo? zone = TimeZoneInfo.Utc;
        if (!string.IsNullOrWhiteSpace(options.TimeZone) && !TimeZoneInfo.TryFindSystemTimeZoneById(options.TimeZone, out zone))
        {
            failures.Add($"{key}:TimeZone is not a known time zone (was '{options.TimeZone}')");
        }

        var payload = string.IsNullOrWhiteSpace(options.Payload) ? "{}" : options.Payload;
        try
        {
            using var _ = JsonDocument.Parse(payload);
        }
        catch (JsonException e)
        {
            failures.Add($"{key}:Payload is not JSON: {e.Message}");
        }

        return failures.Count == before ? new Schedule(name, options.Type!, cron!, text, zone!, payload) : null;
    }
}
