using System.Text.Json;
using StackExchange.Redis;
using Worker.Jobs;

namespace Worker.Streams;

/// <summary>
/// The Redis commands of one job type's stream on the shared multiplexer (nothing here blocks).
/// StackExchange.Redis calls take no token: callers bound them with <c>WaitAsync</c> where it matters.
/// </summary>
internal sealed class JobStreamClient(IConnectionMultiplexer redis, JobTypeSettings settings, string consumer, ReplicatedWrites? replicated = null)
    : IDeliveryStarts
{
    /// <summary>Idle time given to released entries so any peer's next reclaim takes them: one day.</summary>
    private const long ReleasedIdleMs = 86_400_000;

    private const int PromoteBatch = 100;

    private IDatabase Db => redis.GetDatabase();

    public JobTypeSettings Settings => settings;

    public IConnectionMultiplexer Redis => redis;

    public string Consumer => consumer;

    /// <summary>Creates the group at the start of the stream (MKSTREAM); an existing group is fine.</summary>
    public async Task<bool> EnsureGroupAsync()
    {
        try
        {
            return await Db.StreamCreateConsumerGroupAsync(settings.StreamKey, settings.Group, "0-0", createStream: true);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            return false;
        }
    }

    public Task<long> AckAsync(RedisValue[] ids) => Db.StreamAcknowledgeAsync(settings.StreamKey, settings.Group, ids);

    /// <summary>
    /// Atomically acks and appends to the dead-letter stream. False when this consumer no longer owns the entry.
    /// With <see cref="ReplicatedWrites"/> on, it then waits for a replica; one that does not confirm is logged, not
    /// thrown: the move is atomic, so a failover that undoes it leaves the entry pending, to be delivered again.
    /// </summary>
    public async Task<bool> DeadLetterAsync(string entryId, IReadOnlyList<NameValueEntry> fields)
    {
        var args = new RedisValue[3 + (fields.Count * 2)];
        args[0] = settings.Group;
        args[1] = entryId;
        args[2] = consumer;
        for (var i = 0; i < fields.Count; i++)
        {
            args[3 + (2 * i)] = fields[i].Name;
            args[4 + (2 * i)] = fields[i].Value;
        }

        var durable = replicated is { Enabled: true };
        var db = durable ? await replicated!.DatabaseAsync() : Db;
        var result = await db.ScriptEvaluateAsync(StreamScripts.DeadLetter, [settings.StreamKey, settings.DeadLetterKey], args);
        if (durable && (long)result == 1)
        {
            await replicated!.ConfirmOrWarnAsync(settings.StreamKey, "dead-letter move");
        }

        return (long)result == 1;
    }

    /// <summary>Atomically acks and schedules the fields as a new entry at <paramref name="dueAt"/>.</summary>
    public async Task<bool> ScheduleRetryAsync(string entryId, IReadOnlyList<NameValueEntry> fields, DateTimeOffset dueAt)
    {
        var flat = new string[fields.Count * 2];
        for (var i = 0; i < fields.Count; i++)
        {
            flat[2 * i] = fields[i].Name!;
            flat[(2 * i) + 1] = fields[i].Value!;
        }

        // The member must be unique per retry: the attempt field is in it, and so is the original entry id.
        var member = JsonSerializer.Serialize(flat, StreamJsonContext.Default.StringArray);
        var durable = replicated is { Enabled: true };
        var db = durable ? await replicated!.DatabaseAsync() : Db;
        var result = await db.ScriptEvaluateAsync(
            StreamScripts.ScheduleRetry,
            [settings.StreamKey, settings.DelayedKey],
            [settings.Group, entryId, consumer, dueAt.ToUnixTimeMilliseconds(), member]);
        if (durable && (long)result == 1)
        {
            await replicated!.ConfirmOrWarnAsync(settings.StreamKey, "retry schedule");
        }

        return (long)result == 1;
    }

    /// <summary>Moves due retries onto the stream; returns how many moved and when the next one is due.</summary>
    public async Task<(int Moved, DateTimeOffset? NextDue)> PromoteDueAsync(DateTimeOffset now)
    {
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(
            StreamScripts.PromoteDue,
            [settings.DelayedKey, settings.StreamKey],
            [now.ToUnixTimeMilliseconds(), PromoteBatch]))!;
        var next = double.Parse((string)result[1]!, System.Globalization.CultureInfo.InvariantCulture);
        return ((int)result[0], next < 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)next));
    }

    /// <summary>Refreshes the idle time of owned entries; returns the ids this consumer no longer owns.</summary>
    public async Task<string[]> HeartbeatAsync(IReadOnlyList<string> ids)
    {
        var args = new RedisValue[ids.Count + 2];
        args[0] = settings.Group;
        args[1] = consumer;
        for (var i = 0; i < ids.Count; i++)
        {
            args[i + 2] = ids[i];
        }

        var lost = (RedisResult[])(await Db.ScriptEvaluateAsync(StreamScripts.Heartbeat, [settings.StreamKey], args))!;
        return Array.ConvertAll(lost, r => (string)r!);
    }

    /// <summary>Claims up to <paramref name="count"/> entries idle longer than the visibility timeout.</summary>
    public async Task<ReclaimResult> ReclaimAsync(int count)
    {
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(
            StreamScripts.Reclaim,
            [settings.StreamKey],
            [settings.Group, consumer, (long)settings.VisibilityTimeout.TotalMilliseconds, count]))!;
        var entries = StreamReplyParser.ParseEntries(result[0]);
        var counts = (RedisResult[])result[1]!;
        var claimed = new Delivery[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            claimed[i] = new Delivery(entries[i], (long)counts[i]);
        }

        var deleted = Array.ConvertAll((RedisResult[])result[2]!, r => (string)r!);
        return new ReclaimResult(claimed, deleted);
    }

    /// <summary>
    /// Removes consumers with nothing pending idle at least <see cref="JobTypeSettings.IdleConsumerTimeout"/>, unless
    /// another replica did this within <paramref name="every"/>. Returns each removed one's name and idle time.
    /// </summary>
    public async Task<(string Name, TimeSpan Idle)[]> PruneConsumersAsync(TimeSpan every)
    {
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(
            StreamScripts.PruneConsumers,
            [settings.StreamKey, settings.PruneLockKey, settings.AliveKey],
            [settings.Group, consumer, (long)settings.IdleConsumerTimeout.TotalMilliseconds, (long)every.TotalMilliseconds]))!;
        var removed = new (string, TimeSpan)[result.Length / 2];
        for (var i = 0; i < removed.Length; i++)
        {
            removed[i] = ((string)result[2 * i]!, TimeSpan.FromMilliseconds((long)result[(2 * i) + 1]));
        }

        return removed;
    }

    /// <summary>How often the entry started here after its first delivery (kept without job state only).</summary>
    public async Task<long> StartsAsync(string entryId) => (long?)await Db.HashGetAsync(settings.StartsKey, entryId) ?? 0;

    /// <summary>Counts a start of a redelivered entry, before its handler runs.</summary>
    public Task RecordStartAsync(string entryId) => Db.HashIncrementAsync(settings.StartsKey, entryId);

    /// <summary>Drops the start count of an entry that is done here (acked, retried as a new entry, dead-lettered).</summary>
    public void ForgetStarts(string entryId) => Db.HashDelete(settings.StartsKey, entryId, CommandFlags.FireAndForget);

    /// <summary>Removes entries every group has acknowledged; returns how many went.</summary>
    public async Task<long> TrimAcknowledgedAsync() =>
        (long)await Db.ScriptEvaluateAsync(StreamScripts.Trim, [settings.StreamKey]);

    /// <summary>
    /// Hands owned entries back without running them: they stay pending (nothing is lost) but look idle for a day,
    /// so a peer's next reclaim picks them up at once instead of after the visibility timeout. An entry that never
    /// started here gets its delivery back (the reclaim's count then equals the one it had when it came here), so holding
    /// does not bring a good job closer to <see cref="JobTypeSettings.MaxDeliveries"/>; a started one keeps its count.
    /// Entries a peer has reclaimed meanwhile stay with it.
    /// </summary>
    public async Task<long> ReleaseAsync(IReadOnlyList<string> unstarted, IReadOnlyList<string> started)
    {
        var args = new RedisValue[unstarted.Count + started.Count + 4];
        args[0] = settings.Group;
        args[1] = consumer;
        args[2] = ReleasedIdleMs;
        args[3] = unstarted.Count;
        var i = 4;
        foreach (var id in unstarted)
        {
            args[i++] = id;
        }

        foreach (var id in started)
        {
            args[i++] = id;
        }

        return (long)await Db.ScriptEvaluateAsync(StreamScripts.Release, [settings.StreamKey], args);
    }
}
