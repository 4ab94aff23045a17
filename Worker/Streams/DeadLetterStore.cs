using StackExchange.Redis;
using Worker.Jobs;

namespace Worker.Streams;

/// <summary>Reading, replaying and removing dead letters of one job type (the admin verbs' side of the dead-letter stream).</summary>
internal sealed class DeadLetterStore(IDatabase db, JobTypeSettings settings)
{
    private const int Page = 500;

    /// <summary>Every dead letter, oldest first, read in pages so a large stream is never loaded at once.</summary>
    public async IAsyncEnumerable<DeadLetter> ScanAsync()
    {
        RedisValue start = "-";
        while (true)
        {
            var entries = await db.StreamRangeAsync(settings.DeadLetterKey, start, "+", Page);
            foreach (var entry in entries)
            {
                yield return new DeadLetter(settings.DeadLetterKey, entry.Id!, entry.Values);
            }

            if (entries.Length < Page)
            {
                yield break;
            }

            start = "(" + entries[^1].Id;
        }
    }

    public async Task<IReadOnlyList<DeadLetter>> NewestAsync(int count) =>
        (await db.StreamRangeAsync(settings.DeadLetterKey, count: count, messageOrder: Order.Descending))
            .Select(e => new DeadLetter(settings.DeadLetterKey, e.Id!, e.Values)).ToList();

    /// <summary>Puts the job back on its stream with its id and fresh attempts, and removes the dead letter, atomically.</summary>
    public async Task<string?> ReplayAsync(DeadLetter letter)
    {
        var fields = letter.ReplayFields();
        var args = new RedisValue[1 + (fields.Length * 2)];
        args[0] = letter.Id;
        for (var i = 0; i < fields.Length; i++)
        {
            args[1 + (2 * i)] = fields[i].Name;
            args[2 + (2 * i)] = fields[i].Value;
        }

        var result = await db.ScriptEvaluateAsync(StreamScripts.Replay, [settings.DeadLetterKey, settings.StreamKey], args);
        return result.IsNull ? null : (string?)result;
    }

    public Task<long> DeleteAsync(IReadOnlyList<string> ids) =>
        db.StreamDeleteAsync(settings.DeadLetterKey, ids.Select(i => (RedisValue)i).ToArray());
}
