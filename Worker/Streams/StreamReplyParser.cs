using StackExchange.Redis;

namespace Worker.Streams;

/// <summary>
/// Parses raw stream replies from <c>ExecuteAsync</c> and scripts. <c>XREADGROUP</c> answers with an array of
/// [key, entries] pairs on RESP2 and with a map key → entries on RESP3; both shapes are accepted.
/// </summary>
internal static class StreamReplyParser
{
    public static StreamEntry[] ParseReadReply(RedisResult reply)
    {
        if (reply.IsNull)
        {
            return [];
        }

        var top = (RedisResult[])reply!;
        if (top.Length == 0)
        {
            return [];
        }

        // RESP2: [[key, entries]]; RESP3 map flattened: [key, entries].
        var entries = top[0].Resp2Type == ResultType.Array ? ((RedisResult[])top[0]!)[1] : top[1];
        return ParseEntries(entries);
    }

    /// <summary>An entry list as <c>XRANGE</c> returns it: [[id, [field, value, ...]], ...].</summary>
    public static StreamEntry[] ParseEntries(RedisResult entries)
    {
        if (entries.IsNull)
        {
            return [];
        }

        var items = (RedisResult[])entries!;
        var result = new StreamEntry[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            var pair = (RedisResult[])items[i]!;
            result[i] = new StreamEntry((RedisValue)pair[0], ParseFields(pair[1]));
        }

        return result;
    }

    private static NameValueEntry[] ParseFields(RedisResult fields)
    {
        // A pending entry deleted from the stream comes back with nil fields.
        if (fields.IsNull)
        {
            return [];
        }

        var flat = (RedisResult[])fields!;
        var result = new NameValueEntry[flat.Length / 2];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = new NameValueEntry((RedisValue)flat[2 * i], (RedisValue)flat[(2 * i) + 1]);
        }

        return result;
    }
}
