namespace Worker.Streams;

/// <summary>
/// Lua scripts for the moves that must be atomic. Every key of one job type shares the stream's hash tag,
/// so each script touches one cluster slot.
/// </summary>
internal static class StreamScripts
{
    /// <summary>
    /// Dead-letters an entry this consumer still owns: ack and XADD to the dead-letter stream in one step.
    /// KEYS: stream, dlq. ARGV: group, entry id, consumer, field, value, ... Returns 1, or 0 when not owned.
    /// </summary>
    public const string DeadLetter = """
        local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
        if #p == 0 or p[1][2] ~= ARGV[3] then return 0 end
        redis.call('XADD', KEYS[2], '*', unpack(ARGV, 4))
        redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
        return 1
        """;

    /// <summary>
    /// Moves an owned entry to the delayed-retry schedule: ZADD and ack in one step.
    /// KEYS: stream, delayed. ARGV: group, entry id, consumer, due (Unix ms), member. Returns 1, or 0 when not owned.
    /// </summary>
    public const string ScheduleRetry = """
        local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
        if #p == 0 or p[1][2] ~= ARGV[3] then return 0 end
        redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
        redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
        return 1
        """;

    /// <summary>
    /// Puts due retries back on the stream. KEYS: delayed, stream. ARGV: now (Unix ms), limit.
    /// Returns {moved, next due score or -1}.
    /// </summary>
    public const string PromoteDue = """
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
        for _, member in ipairs(due) do
          local ok, fields = pcall(cjson.decode, member)
          if ok and type(fields) == 'table' and #fields >= 2 then
            redis.call('XADD', KEYS[2], '*', unpack(fields))
          end
          redis.call('ZREM', KEYS[1], member)
        end
        local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        return {#due, nxt[2] or '-1'}
        """;

    /// <summary>
    /// Resets the idle time of the entries this consumer still owns, so no peer reclaims a job whose worker lives.
    /// Never takes an entry back from a peer. KEYS: stream. ARGV: group, consumer, ids...
    /// Returns the ids a peer now owns (entries acked meanwhile are simply skipped).
    /// </summary>
    public const string Heartbeat = """
        local lost = {}
        for i = 3, #ARGV do
          local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
          if #p > 0 then
            if p[1][2] == ARGV[2] then
              redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
            else
              lost[#lost + 1] = ARGV[i]
            end
          end
        end
        return lost
        """;

    /// <summary>
    /// Claims up to count entries idle longer than the visibility timeout, oldest first, and reports each one's
    /// delivery count (the claim adds one). <c>XPENDING ... IDLE</c> finds them wherever they sit in the pending list
    /// (an <c>XAUTOCLAIM</c> scan stops after ten times its count). A pending entry the stream no longer holds (trimmed or
    /// deleted) is not returned by <c>XCLAIM</c>, which drops it from the list: it is reported as deleted.
    /// KEYS: stream. ARGV: group, consumer, min idle (ms), count. Returns {entries, counts, deleted ids}.
    /// </summary>
    public const string Reclaim = """
        local idle = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', tonumber(ARGV[3]), '-', '+', tonumber(ARGV[4]))
        if #idle == 0 then return {{}, {}, {}} end
        local ids, counts = {}, {}
        for i, p in ipairs(idle) do ids[i] = p[1]; counts[p[1]] = p[4] + 1 end
        local entries = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]), unpack(ids))
        local got, claimedCounts, deleted = {}, {}, {}
        for i, e in ipairs(entries) do got[e[1]] = true; claimedCounts[i] = counts[e[1]] end
        for _, id in ipairs(ids) do if not got[id] then deleted[#deleted + 1] = id end end
        return {entries, claimedCounts, deleted}
        """;

    /// <summary>
    /// Appends jobs unless the backlog (pending plus not yet delivered) is at or above the limit.
    /// KEYS: stream. ARGV: group, max backlog (0 = no limit), job count, then per job its field count and its
    /// fields and values. Returns {1, id, id, ...} or {0, backlog}.
    /// The stream's length bounds the backlog from above (acked entries wait for the trim; pending ones are never
    /// trimmed), so the group's exact figure, which costs an <c>XINFO GROUPS</c>, is only needed near the limit.
    /// </summary>
    public const string Enqueue = """
        local max = tonumber(ARGV[2])
        local jobs = tonumber(ARGV[3])
        if max > 0 then
          local backlog = redis.call('XLEN', KEYS[1])
          if backlog + jobs > max and backlog > 0 then
            for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
              local info = {}
              for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
              if info['name'] == ARGV[1] and info['lag'] then backlog = info['lag'] + info['pending'] end
            end
          end
          if backlog + jobs > max then return {0, backlog} end
        end
        local ids = {1}
        local i = 4
        for _ = 1, jobs do
          local n = tonumber(ARGV[i])
          ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 1, i + n))
          i = i + n + 1
        end
        return ids
        """;

    /// <summary>
    /// Trims the stream below the lowest entry any group still needs: its oldest pending entry, or, with none pending,
    /// its last delivered one. Never removes a pending or undelivered entry; a stream without groups is left alone.
    /// KEYS: stream. Returns how many entries went.
    /// </summary>
    public const string Trim = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        local function parse(id)
          local dash = string.find(id, '-', 1, true)
          return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
        end
        local function less(a, b)
          local am, as = parse(a)
          local bm, bs = parse(b)
          return am < bm or (am == bm and as < bs)
        end
        local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
        if #groups == 0 then return 0 end
        local floor = nil
        for _, g in ipairs(groups) do
          local info = {}
          for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
          local needed = info['last-delivered-id']
          local pending = redis.call('XPENDING', KEYS[1], info['name'])
          if pending[1] > 0 then needed = pending[2] end
          if floor == nil or less(needed, floor) then floor = needed end
        end
        if floor == '0-0' then return 0 end
        return redis.call('XTRIM', KEYS[1], 'MINID', '~', floor)
        """;

    /// <summary>
    /// Marks this consumer alive, then removes the consumers that left: nothing pending, idle at least the given time,
    /// and not marked alive within it. The mark is needed because Redis before 7.2 counts a consumer's idle time from
    /// its last delivery, not its last read, so a live replica with nothing to do looks as idle as a gone one. Checked
    /// and deleted in one step, so a consumer that holds entries is never deleted (<c>XGROUP DELCONSUMER</c> would drop
    /// them from the pending list). Only the replica that takes the lock removes; the others find it taken until it
    /// expires. KEYS: stream, lock, alive (sorted set: consumer by last mark, Unix ms).
    /// ARGV: group, this consumer, min idle (ms), lock time (ms). Returns {name, idle ms, ...} of the removed consumers.
    /// </summary>
    public const string PruneConsumers = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local minIdle = tonumber(ARGV[3])
        redis.call('ZADD', KEYS[3], now, ARGV[2])
        if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
        if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', tonumber(ARGV[4])) then return {} end
        redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 2 * minIdle)
        local removed = {}
        for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
          local info = {}
          for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
          local mark = redis.call('ZSCORE', KEYS[3], info['name'])
          local quiet = (not mark) or now - tonumber(mark) >= minIdle
          if info['pending'] == 0 and info['idle'] >= minIdle and quiet and info['name'] ~= ARGV[2] then
            redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
            redis.call('ZREM', KEYS[3], info['name'])
            removed[#removed + 1] = info['name']
            removed[#removed + 1] = info['idle']
          end
        end
        return removed
        """;

    /// <summary>
    /// Moves one dead letter back onto its stream: XADD of the given fields, XDEL from the dead-letter stream, in one
    /// step, only if the dead letter is still there. KEYS: dlq, stream. ARGV: dead letter id, field, value, ...
    /// Returns the new entry id, or false when the dead letter was gone.
    /// </summary>
    public const string Replay = """
        if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return false end
        local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
        redis.call('XDEL', KEYS[1], ARGV[1])
        return id
        """;

    /// <summary>
    /// Hands entries this consumer still owns back to the group: they stay pending but look idle for a long time, so
    /// any peer's next reclaim takes them. The first <c>unstarted</c> ids never ran here: their delivery count goes back
    /// by one, which the reclaim adds again. Entries a peer already owns are left alone.
    /// KEYS: stream. ARGV: group, consumer, idle (ms), unstarted, ids... Returns how many were released.
    /// </summary>
    public const string Release = """
        local released = 0
        local unstarted = tonumber(ARGV[4])
        for i = 5, #ARGV do
          local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
          if #p > 0 and p[1][2] == ARGV[2] then
            local count = p[1][4]
            if i - 4 <= unstarted and count > 0 then count = count - 1 end
            redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3], 'RETRYCOUNT', count, 'JUSTID')
            released = released + 1
          end
        end
        return released
        """;

    /// <summary>
    /// Enqueues one occurrence of a recurring schedule unless one at or after it was enqueued already (by this replica
    /// or another). KEYS: stream, schedules hash. ARGV: schedule name, occurrence (Unix ms), the entry's fields and
    /// values. Returns 1 when it enqueued, 0 when it was done already.
    /// </summary>
    public const string FireSchedule = """
        local last = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '-1')
        if last >= tonumber(ARGV[2]) then return 0 end
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
        redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
        return 1
        """;

    /// <summary>
    /// Takes up to the wanted number of starts from a job type's fleet-wide rate limit: a sliding window of the starts
    /// made in the last period (a sorted set scored by Redis's own time, so every replica counts on one clock).
    /// KEYS: rate window. ARGV: limit, period (ms), wanted, a member prefix unique to this call.
    /// Returns {granted, ms until a start frees up (0 when all were granted)}.
    /// </summary>
    public const string TakeStarts = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local period = tonumber(ARGV[2])
        local wanted = tonumber(ARGV[3])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
        local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
        local granted = math.max(0, math.min(wanted, free))
        for i = 1, granted do redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. i) end
        if granted > 0 then redis.call('PEXPIRE', KEYS[1], period) end
        local wait = 0
        if granted < wanted then
          local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
          wait = oldest[2] and (tonumber(oldest[2]) + period - now + 1) or 1
        end
        return {granted, wait}
        """;

    /// <summary>
    /// Cancels a job: remembers its id (with the time, for a week, as the oldest marks are dropped here) and tells every
    /// replica at once. KEYS: cancelled set. ARGV: job id, channel, keep (ms). Returns 1 when the id was new.
    /// </summary>
    public const string Cancel = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
        local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
        redis.call('PUBLISH', ARGV[2], ARGV[1])
        return added
        """;
}
