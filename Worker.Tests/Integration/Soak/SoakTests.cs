using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Soak;

/// <summary>
/// Load, faults at random, then a global check of every job, as Jepsen-style suites do. Two worker processes consume
/// one stream on a Redis of the test's own (AOF, fsync always) and reach PostgreSQL through a proxy the test can cut;
/// a producer keeps a ledger of every job id; an injector picks faults at random (kill -9, SIGTERM, SIGSTOP past the
/// visibility timeout, CLIENT KILL, Redis killed and restarted, PostgreSQL cut). Afterwards every ledger job must have
/// had its effect exactly once or be dead-lettered exactly once; nothing may be pending.
/// Runs for SOAK_SECONDS (40 in ./scripts/test; ./scripts/soak --minutes N for longer).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SoakTests
{
    private static readonly string[] FaultKinds = ["kill9", "sigterm", "sigstop", "client_kill", "redis_restart", "postgres_cut", "stream_delete"];

    /// <summary>
    /// What a fault is drawn from: each kind twice, but deleting the stream once. A deletion takes the stream's
    /// unfinished jobs with it, so a run with several leaves few jobs whose fate checks the worker itself.
    /// </summary>
    private static readonly string[] FaultDraws = [.. FaultKinds.SelectMany(k => Enumerable.Repeat(k, k == "stream_delete" ? 1 : 2))];

    /// <summary>
    /// Deletes the stream and, in the same step, lists the job ids it still held unfinished (undelivered or pending;
    /// every entry when no group reads it yet): what the deletion may lose, so the checker can report it rather than
    /// count it as the worker's loss.
    /// </summary>
    private const string DeleteStreamScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
        local ids = {}
        local function add(entries)
          for _, e in ipairs(entries) do
            local f = e[2]
            for i = 1, #f, 2 do if f[i] == 'job_id' then ids[#ids + 1] = f[i + 1] end end
          end
        end
        local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
        -- No group yet (the workers still starting, or the producer re-created the key): nothing was read.
        if #groups == 0 then add(redis.call('XRANGE', KEYS[1], '-', '+')) end
        for _, g in ipairs(groups) do
          local info = {}
          for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
          add(redis.call('XRANGE', KEYS[1], '(' .. info['last-delivered-id'], '+'))
          for _, p in ipairs(redis.call('XPENDING', KEYS[1], info['name'], '-', '+', 100000)) do
            add(redis.call('XRANGE', KEYS[1], p[1], p[1]))
          end
        end
        redis.call('DEL', KEYS[1])
        return ids
        """;

    [Test]
    public async Task Soak_RandomFaultsUnderLoad_EveryJobHasExactlyOneOutcome()
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("SOAK_SECONDS"), out var s) ? s : 40;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("SOAK_SEED"), out var sd) ? sd : Environment.TickCount;
        var random = new Random(seed);
        TestContext.Out.WriteLine($"soak: {seconds} s, seed {seed}");

        using var redis = new PrivateRedis();
        await redis.StartAsync();
        var postgres = new Npgsql.NpgsqlConnectionStringBuilder(TestEnvironment.Postgres);
        await using var proxy = new TcpProxy(postgres.Host!, postgres.Port);
        (postgres.Host, postgres.Port, postgres.Timeout) = ("127.0.0.1", proxy.Port, 3);
        var stream = WorkerTestHost.NewStream();
        var settings = WorkerTestHost.NoopSettings(stream);
        foreach (var (key, value) in new Dictionary<string, string>
        {
            ["ConnectionStrings:Redis"] = redis.Configuration + ",abortConnect=false",
            ["ConnectionStrings:Postgres"] = postgres.ConnectionString,
            ["Worker:DrainTimeout"] = "00:00:03",
            ["Worker:Jobs:noop:Concurrency"] = "8",
            ["Worker:Jobs:noop:BatchSize"] = "20",
            ["Worker:Jobs:noop:VisibilityTimeout"] = "00:00:02",
            ["Worker:Jobs:noop:ClaimInterval"] = "00:00:00.200",
            ["Worker:Jobs:noop:MaxDeliveries"] = "3",
            ["Worker:Jobs:noop:Retry:BaseDelay"] = "00:00:00.200",
        })
        {
            settings[key] = value;
        }

        await using var fleet = new Fleet(settings, 2);
        using var producer = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",abortConnect=false,allowAdmin=true");
        var ledger = new ConcurrentDictionary<string, LedgerEntry>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var faults = new ConcurrentDictionary<string, int>();
        var atRisk = new ConcurrentDictionary<string, byte>();
        var recoveries = new ConcurrentBag<double>();

        var produce = Task.Run(() => ProduceAsync(producer.GetDatabase(), stream, ledger, new Random(seed + 1), stop.Token));
        var inject = Task.Run(() => InjectAsync(fleet, redis, proxy, producer, stream, faults, recoveries, atRisk, random, seconds >= 120, stop.Token));
        await Task.WhenAll(produce, inject);

        // Quiet: every fault undone, every worker up; then wait for the backlog to empty.
        proxy.Restore();
        fleet.ResumeAll();
        await fleet.EnsureRunningAsync();
        var db = producer.GetDatabase();
        await Eventually.TrueAsync(async () =>
        {
            fleet.Revive();
            try
            {
                var groups = await db.StreamGroupInfoAsync(stream);
                return groups is [{ Lag: 0, PendingMessageCount: 0 }] && await db.SortedSetLengthAsync(stream + ":delayed") == 0;
            }
            catch (RedisException)
            {
                return false;
            }
        }, "the backlog to drain after the faults", TimeSpan.FromSeconds(120));
        await fleet.StopAllAsync();

        var report = await CheckAsync(db, stream, ledger, atRisk);
        if (report.Lost.Count > 0)
        {
            // What the workers saw: the faults are timed in Unix ms above, the log lines carry their own time.
            foreach (var line in fleet.Warnings().Take(200))
            {
                TestContext.Out.WriteLine("worker " + (line.Length > 600 ? line[..600] : line));
            }
        }

        TestContext.Out.WriteLine(string.Join("  ", FaultKinds.Select(k => $"{k}={faults.GetValueOrDefault(k)}")));
        TestContext.Out.WriteLine($"{"enqueued",9} {"succeeded",9} {"dead",5} {"lost",5} {"dup_effects",11} {"dup_exec",8} {"restarts",8} {"recovery_max_s",14}");
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{ledger.Count,9} {report.Succeeded,9} {report.DeadLettered,5} {report.Lost.Count,5} {report.DuplicateEffects,11} {report.DuplicateExecutions,8} {fleet.Restarts,8} {(recoveries.IsEmpty ? 0 : recoveries.Max()),14:0.0}"));
        Assert.Multiple(() =>
        {
            Assert.That(ledger, Has.Count.GreaterThan(100), "the load ran");
            Assert.That(report.Lost, Is.Empty, "jobs with neither their effect nor a dead letter");
            Assert.That(report.DuplicateEffects, Is.Zero, "jobs whose effect happened twice");
            Assert.That(report.DuplicateDeadLetters, Is.Zero, "jobs dead-lettered twice");
        });
    }

    /// <summary>
    /// About 150 jobs a second: effects mostly, and poison mixed in: permanent failures, an unknown type, malformed
    /// JSON, a missing payload, one 10 MB payload, and one job that crashes the process running it.
    /// </summary>
    private static async Task ProduceAsync(IDatabase db, string stream, ConcurrentDictionary<string, LedgerEntry> ledger, Random random, CancellationToken stop)
    {
        var crashed = false;
        var n = 0;
        while (!stop.IsCancellationRequested)
        {
            var id = Guid.NewGuid().ToString("N");
            var (kind, fields) = (n++ % 97, crashed) switch
            {
                (13, _) => ("dead", new NameValueEntry[] { new("type", "noop"), new("payload", """{"fail":"permanent"}"""), new("job_id", id) }),
                (29, _) => ("dead", [new("type", "mail"), new("payload", "{}"), new("job_id", id)]),
                (41, _) => ("dead", [new("type", "noop"), new("payload", "{oops"), new("job_id", id)]),
                (53, _) => ("dead", [new("type", "noop"), new("job_id", id)]),
                (67, _) when n < 100 => ("dead", [new("type", "noop"), new("payload", $$"""{"pad":"{{new string('x', 10 << 20)}}"}"""), new("job_id", id)]),
                (77, false) => ("dead", [new("type", "noop"), new("payload", """{"crash":true}"""), new("job_id", id)]),
                _ => ("effect", [new("type", "noop"), new("payload", $$"""{"effect":true,"delay_ms":{{random.Next(0, 30)}}}"""), new("job_id", id)]),
            };
            crashed |= n % 97 == 78;
            // Until Redis confirms: a job counts in the ledger only once it is known to be in the stream.
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var entry = await db.StreamAddAsync(stream, fields);
                    ledger[id] = new LedgerEntry(kind, (string)entry!);
                    break;
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    await Task.Delay(50, CancellationToken.None);
                }
            }

            await Task.Delay(random.Next(2, 12), CancellationToken.None);
        }
    }

    private static async Task InjectAsync(
        Fleet fleet, PrivateRedis redis, TcpProxy proxy, ConnectionMultiplexer admin, string stream,
        ConcurrentDictionary<string, int> faults, ConcurrentBag<double> recoveries, ConcurrentDictionary<string, byte> atRisk,
        Random random, bool longRun, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(random.Next(2000, 4000), stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // A poison job may have ended a worker by itself: bring every seat back before the next fault.
            fleet.Revive();
            var kind = FaultDraws[random.Next(FaultDraws.Length)];
            faults.AddOrUpdate(kind, 1, (_, c) => c + 1);
            // Unix milliseconds, to set beside the entry ids (which start with them) when a job is reported lost.
            TestContext.Out.WriteLine($"fault at {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}: {kind}");
            switch (kind)
            {
                case "kill9":
                    var consumer = fleet.KillOne(random);
                    var watch = Stopwatch.StartNew();
                    fleet.Revive();
                    _ = Task.Run(async () =>
                    {
                        // Recovery: until nothing is pending under the dead consumer's name any more.
                        while (watch.Elapsed < TimeSpan.FromSeconds(60))
                        {
                            try
                            {
                                var pending = await admin.GetDatabase().StreamPendingMessagesAsync(stream, "workers", 1, consumer);
                                if (pending.Length == 0)
                                {
                                    recoveries.Add(watch.Elapsed.TotalSeconds);
                                    return;
                                }
                            }
                            catch (RedisException)
                            {
                            }

                            await Task.Delay(100, CancellationToken.None);
                        }
                    }, CancellationToken.None);
                    break;
                case "sigterm":
                    await fleet.TerminateOneAsync(random);
                    fleet.Revive();
                    break;
                case "sigstop":
                    fleet.PauseOne(random, TimeSpan.FromSeconds(3));
                    break;
                case "client_kill":
                    try
                    {
                        await admin.GetDatabase().ExecuteAsync("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
                    }
                    catch (Exception e) when (e is RedisException or TimeoutException)
                    {
                    }

                    break;
                case "redis_restart":
                    redis.Kill();
                    await redis.StartAsync();
                    break;
                case "stream_delete":
                    try
                    {
                        var held = (RedisResult[])(await admin.GetDatabase().ScriptEvaluateAsync(DeleteStreamScript, [(RedisKey)stream]))!;
                        foreach (var id in held)
                        {
                            atRisk[(string)id!] = 0;
                        }
                    }
                    catch (Exception e) when (e is RedisException or TimeoutException)
                    {
                    }

                    break;
                case "postgres_cut":
                    // Up to 20 s in a long run (a database restart), a few seconds in the short one.
                    proxy.Cut();
                    await Task.Delay(random.Next(2000, longRun ? 20_000 : 6000), CancellationToken.None);
                    proxy.Restore();
                    break;
            }
        }
    }

    private static async Task<SoakReport> CheckAsync(
        IDatabase db, string stream, ConcurrentDictionary<string, LedgerEntry> ledger, ConcurrentDictionary<string, byte> atRisk)
    {
        var ids = ledger.Keys.ToArray();
        var succeeded = new HashSet<string>();
        await using (var command = Infrastructure.Postgres.CreateCommand("SELECT id FROM jobs WHERE type = 'noop' AND id = ANY($1) AND status = 'succeeded'"))
        {
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = ids });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                succeeded.Add(reader.GetString(0));
            }
        }

        var effects = new Dictionary<string, long>();
        await using (var command = Infrastructure.Postgres.CreateCommand("SELECT job_id, count(*) FROM noop_effects WHERE job_id = ANY($1) GROUP BY job_id"))
        {
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = ids });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                effects[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        var executions = await Infrastructure.ScalarAsync<long>(
            "SELECT coalesce(sum(greatest(attempts - 1, 0)), 0) FROM jobs WHERE type = 'noop' AND id = ANY($1)", new object[] { ids });
        var dlq = await db.StreamRangeAsync(stream + ":dlq");
        var letters = dlq
            .Select(e => (string?)e.Values.FirstOrDefault(v => v.Name == "job_id").Value)
            .OfType<string>()
            .GroupBy(id => id)
            .ToDictionary(g => g.Key, g => g.Count());
        var reasons = dlq.GroupBy(e => (string?)e.Values.FirstOrDefault(v => v.Name == "error_type").Value ?? "?")
            .Select(g => $"{g.Key}={g.Count()}");
        TestContext.Out.WriteLine("dead letters by reason: " + string.Join(" ", reasons));

        var lost = new List<string>();
        var lostWithKey = 0;
        var effectJobsDeadLettered = 0;
        foreach (var (id, (kind, entry)) in ledger)
        {
            // A good job redelivered past the delivery limit by faults alone (each kill or stolen lease counts) is
            // dead-lettered as a suspected crasher: one outcome, as long as its effect never happened.
            var deadLetteredInstead = kind == "effect" && letters.ContainsKey(id) && effects.GetValueOrDefault(id) == 0;
            effectJobsDeadLettered += deadLetteredInstead ? 1 : 0;
            var done = kind == "effect"
                ? (succeeded.Contains(id) && effects.GetValueOrDefault(id) >= 1) || deadLetteredInstead
                : letters.ContainsKey(id);
            if (done)
            {
                continue;
            }

            // Deleting a stream deletes its unfinished jobs: reported, not counted against the worker.
            if (atRisk.ContainsKey(id))
            {
                lostWithKey++;
            }
            else
            {
                lost.Add($"{id} ({kind}, entry {entry})");
            }
        }

        TestContext.Out.WriteLine($"jobs unfinished in a deleted stream: {atRisk.Count}, of which lost with it: {lostWithKey}");
        TestContext.Out.WriteLine($"good jobs dead-lettered instead of run (redelivered past the limit by faults): {effectJobsDeadLettered}");

        if (lost.Count > 0)
        {
            TestContext.Out.WriteLine("lost: " + string.Join(", ", lost.Take(20)));
            var left = await db.StreamRangeAsync(stream);
            foreach (var id in lost.Take(10).Select(l => l.Split(' ')[0]))
            {
                var row = await Infrastructure.ScalarAsync<string?>(
                    "SELECT status || ' attempts=' || attempts || ' error=' || coalesce(last_error, '') FROM jobs WHERE type = 'noop' AND id = $1", id);
                var letter = dlq.FirstOrDefault(e => e.Values.Any(v => v.Name == "job_id" && v.Value == id));
                var inStream = left.Any(e => e.Values.Any(v => v.Name == "job_id" && v.Value == id));
                TestContext.Out.WriteLine($"  {id}: row={row ?? "none"} dead_letter={(letter.Values is null ? "none" : (string?)letter.Values.First(v => v.Name == "error_type").Value)} in_stream={inStream}");
            }
        }

        return new SoakReport(
            succeeded.Count,
            letters.Count,
            lost,
            effects.Count(e => e.Value > 1),
            letters.Count(l => l.Value > 1),
            executions);
    }

    private sealed record LedgerEntry(string Kind, string Entry);

    private sealed record SoakReport(int Succeeded, int DeadLettered, List<string> Lost, int DuplicateEffects, int DuplicateDeadLetters, long DuplicateExecutions);
}
