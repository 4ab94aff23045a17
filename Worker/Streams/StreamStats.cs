using StackExchange.Redis;
using Worker.Jobs;

namespace Worker.Streams;

/// <summary>
/// The state of one job type's stream as Redis reports it. <see cref="Delayed"/> counts what waits for its time in the
/// delayed set: scheduled retries and delayed jobs read before their <c>run_at</c>.
/// </summary>
internal sealed record StreamStats(
    string JobType,
    string Stream,
    string Group,
    long Length,
    long? Lag,
    long Pending,
    int Consumers,
    long? OldestPendingAgeMs,
    long DeadLetters,
    long Delayed)
{
    /// <summary>Cancels of the job type remembered in Redis (the last week's), the same on each of its streams.</summary>
    public long Cancelled { get; init; }

    public static async Task<StreamStats> ReadAsync(IDatabase db, JobTypeSettings settings, DateTimeOffset now)
    {
        var lengthTask = db.StreamLengthAsync(settings.StreamKey);
        var deadTask = db.StreamLengthAsync(settings.DeadLetterKey);
        var delayedTask = db.SortedSetLengthAsync(settings.DelayedKey);
        var cancelledTask = db.SortedSetLengthAsync(settings.CancelledKey);
        long? lag = null;
        long pending = 0;
        var consumers = 0;
        long? oldestAge = null;
        if (await db.KeyExistsAsync(settings.StreamKey))
        {
            var groups = (RedisResult[])(await db.ExecuteAsync("XINFO", "GROUPS", (RedisKey)settings.StreamKey))!;
            foreach (var group in groups)
            {
                var info = ToMap(group);
                if ((string?)info.GetValueOrDefault("name") != settings.Group)
                {
                    continue;
                }

                pending = (long)info["pending"];
                consumers = (int)info["consumers"];
                lag = info.TryGetValue("lag", out var l) && !l.IsNull ? (long)l : null;
            }

            if (pending > 0)
            {
                var oldest = await db.StreamPendingMessagesAsync(settings.StreamKey, settings.Group, 1, RedisValue.Null);
                if (oldest.Length > 0)
                {
                    oldestAge = now.ToUnixTimeMilliseconds() - EntryTimestampMs(oldest[0].MessageId!);
                }
            }
        }

        return new StreamStats(
            settings.JobType, settings.StreamKey, settings.Group, await lengthTask, lag, pending, consumers, oldestAge,
            await deadTask, await delayedTask) { Cancelled = await cancelledTask };
    }

    private static long EntryTimestampMs(string entryId) => long.Parse(entryId.AsSpan(0, entryId.IndexOf('-')), provider: null);

    /// <summary>XINFO answers a flat [key, value, ...] array on RESP2 and a map on RESP3: both flatten to pairs.</summary>
    private static Dictionary<string, RedisResult> ToMap(RedisResult result)
    {
        var flat = (RedisResult[])result!;
        var map = new Dictionary<string, RedisResult>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < flat.Length; i += 2)
        {
            map[(string)flat[i]!] = flat[i + 1];
        }

        return map;
    }
}
