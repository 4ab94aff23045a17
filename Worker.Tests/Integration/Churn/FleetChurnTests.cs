using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Churn;

/// <summary>
/// Two worker processes, as a deploy or a node failure treats them: one killed with kill -9 under load, and rolling
/// restarts (SIGTERM, kill -9 every third) while jobs keep arriving. The settings are the shipped ones but for the
/// visibility timeout: <c>CHURN_VISIBILITY</c> (3 s here so the suite stays short; <c>./scripts/churn</c> runs them at
/// the default 15 s, prints the figures and holds the recovery to its bound, <c>CHURN_STRICT=1</c>). In the suite the
/// recovery only has to happen: a machine busy with other work stretches every wait, and the order in which reclaimed
/// work runs is checked where no clock decides (<c>ChurnTests</c>).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class FleetChurnTests
{
    private const string Group = "workers";

    /// <summary>Slack the bound allows over the visibility timeout and the claim interval.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(4);

    private static readonly TimeSpan ClaimInterval = TimeSpan.FromSeconds(1);

    private static TimeSpan Visibility =>
        TimeSpan.Parse(Environment.GetEnvironmentVariable("CHURN_VISIBILITY") ?? "00:00:03", CultureInfo.InvariantCulture);

    private string _stream = null!;

    private static IDatabase Db => Infrastructure.Db;

    [SetUp]
    public async Task NewStream()
    {
        _stream = WorkerTestHost.NewStream();
        // As the workers would at start: the probes below read the group before the first worker is up.
        await Db.StreamCreateConsumerGroupAsync(_stream, Group, "0-0", createStream: true);
    }

    [TearDown]
    public async Task DeleteKeys() =>
        await Db.KeyDeleteAsync(WorkerTestHost.KeysOf(_stream));

    private Dictionary<string, string?> Settings(params (string Key, string Value)[] extra)
    {
        var settings = WorkerTestHost.NoopSettings(_stream);
        settings["Worker:Jobs:noop:VisibilityTimeout"] = Visibility.ToString("c", CultureInfo.InvariantCulture);
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static string ConsumerOf(WorkerProcess worker) => $"{Environment.MachineName}-{worker.Id}-0";

    private async Task<List<string>> EnqueueAsync(int count, string payload)
    {
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid().ToString("N")).ToList();
        var batch = Db.CreateBatch();
        var adds = ids.Select(id => batch.StreamAddAsync(_stream, [new("type", "noop"), new("payload", payload), new("job_id", id)])).ToList();
        batch.Execute();
        await Task.WhenAll(adds);
        return ids;
    }

    /// <summary>Adds <paramref name="perSecond"/> jobs a second until stopped, each id into <paramref name="ledger"/>.</summary>
    private async Task ProduceAsync(int perSecond, string payload, List<string> ledger, CancellationToken stop)
    {
        var watch = Stopwatch.StartNew();
        var sent = 0;
        while (!stop.IsCancellationRequested)
        {
            var due = (int)(watch.Elapsed.TotalSeconds * perSecond) - sent;
            if (due > 0)
            {
                var ids = await EnqueueAsync(due, payload);
                lock (ledger)
                {
                    ledger.AddRange(ids);
                }

                sent += due;
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), stop);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private static string[] Snapshot(List<string> ledger)
    {
        lock (ledger)
        {
            return [.. ledger];
        }
    }

    private async Task<string[]> PendingIdsAsync(string consumer) =>
        [.. (await Db.StreamPendingMessagesAsync(_stream, Group, 100_000, consumer)).Select(p => (string)p.MessageId!)];

    private static async Task<Dictionary<string, long>> EffectsAsync(IReadOnlyCollection<string> jobIds)
    {
        var effects = new Dictionary<string, long>();
        await using var command = Infrastructure.Postgres.CreateCommand("SELECT job_id, count(*) FROM noop_effects WHERE job_id = ANY($1) GROUP BY job_id");
        command.Parameters.AddWithValue(jobIds.ToArray());
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            effects[reader.GetString(0)] = reader.GetInt64(1);
        }

        return effects;
    }

    private static Task<long> SucceededAsync(IReadOnlyCollection<string> jobIds) =>
        Infrastructure.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE type = 'noop' AND status = 'succeeded' AND id = ANY($1)", (object)jobIds.ToArray());

    [Test]
    public async Task KillNine_OneOfTwoReplicasUnderLoad_EveryEntryItHeldIsReclaimedWithinTheBound()
    {
        // noop's shipped values, named here because the bound on what a replica holds follows from them.
        var settings = Settings(("Worker:Jobs:noop:Concurrency", "3"), ("Worker:Jobs:noop:BatchSize", "100"));
        using var victim = WorkerProcess.Start(settings, "run");
        using var survivor = WorkerProcess.Start(settings, "run");
        var backlog = await EnqueueAsync(1000, """{"delay_ms":100}""");
        using var stop = new CancellationTokenSource();
        var arriving = new List<string>();
        var produce = ProduceAsync(60, """{"delay_ms":100}""", arriving, stop.Token);
        try
        {
            await Eventually.TrueAsync(
                async () => (await PendingIdsAsync(ConsumerOf(victim))).Length > 0 && (await PendingIdsAsync(ConsumerOf(survivor))).Length > 0,
                "both replicas to hold entries", TimeSpan.FromSeconds(60));

            victim.KillHard();
            var watch = Stopwatch.StartNew();
            var held = await PendingIdsAsync(ConsumerOf(victim));
            await Eventually.TrueAsync(
                async () => (await PendingIdsAsync(ConsumerOf(victim))).Length == 0,
                "every entry the killed replica held to be reclaimed", TimeSpan.FromSeconds(300));
            var recovered = watch.Elapsed;

            var bound = Visibility + ClaimInterval + Slack;
            TestContext.Out.WriteLine(
                $"churn: kill -9 under load: held {held.Length} entries, all reclaimed after {recovered.TotalSeconds:0.0} s (bound {bound.TotalSeconds:0.0} s, visibility {Visibility.TotalSeconds:0} s)");
            Assert.That(held, Has.Length.LessThanOrEqualTo(3 + 100), "a replica holds at most Concurrency + BatchSize entries, finished ones with acks not yet sent included");
            if (Environment.GetEnvironmentVariable("CHURN_STRICT") == "1")
            {
                Assert.That(recovered, Is.LessThanOrEqualTo(bound), $"{held.Length} entries came back one claim at a time");
            }

            Assert.That(survivor.HasExited, Is.False, survivor.StandardError);
        }
        finally
        {
            await stop.CancelAsync();
            await produce;
        }
    }

    [Test]
    public async Task RollingRestarts_SigtermAndKillNineUnderLoad_EveryJobSucceedsOnceAndNothingIsDeadLettered()
    {
        var settings = Settings(("Worker:Jobs:noop:MaxDeliveries", "2"));
        var workers = new[] { WorkerProcess.Start(settings, "run"), WorkerProcess.Start(settings, "run") };
        var ledger = new List<string>();
        using var stop = new CancellationTokenSource();
        // Half of what the two replicas can run (3 slots each, 100 ms jobs): load, but a backlog that drains.
        var produce = ProduceAsync(30, """{"delay_ms":100,"effect":true}""", ledger, stop.Token);
        var kills = 0;
        try
        {
            for (var restart = 1; restart <= 9; restart++)
            {
                var seat = restart % 2;
                var old = workers[seat];
                // Under load: some jobs finished since the last restart, so every replica was working when it went.
                var before = await SucceededAsync(Snapshot(ledger));
                await Eventually.TrueAsync(async () => await SucceededAsync(Snapshot(ledger)) >= before + 20, "progress between restarts", TimeSpan.FromSeconds(120));
                if (restart % 3 == 0)
                {
                    old.KillHard();
                    kills++;
                }
                else
                {
                    old.Signal("TERM");
                    Assert.That(await old.WaitForExitAsync(TimeSpan.FromSeconds(40)), Is.Zero, old.StandardError);
                }

                old.Dispose();
                workers[seat] = WorkerProcess.Start(settings, "run");
            }

            await stop.CancelAsync();
            await produce;
            var all = Snapshot(ledger);

            await Eventually.TrueAsync(async () => await SucceededAsync(all) == all.Length, $"all {all.Length} jobs to succeed", TimeSpan.FromSeconds(300));
            var effects = await EffectsAsync(all);
            TestContext.Out.WriteLine($"churn: 9 restarts ({kills} kill -9) under 30 jobs/s: {all.Length} jobs, {effects.Count} with an effect, dead letters {await Db.StreamLengthAsync(_stream + ":dlq")}");
            Assert.Multiple(async () =>
            {
                Assert.That(await Db.StreamLengthAsync(_stream + ":dlq"), Is.Zero, "no good job dead-lettered by replicas going away");
                Assert.That(effects.Keys, Is.EquivalentTo(all), "every job applied its effect");
                Assert.That(effects.Where(e => e.Value != 1).Select(e => e.Key), Is.Empty, "no effect twice");
            });
        }
        finally
        {
            if (!stop.IsCancellationRequested)
            {
                await stop.CancelAsync();
                await produce;
            }

            foreach (var worker in workers)
            {
                worker.Dispose();
            }
        }
    }

    [Test]
    public async Task SlowJobs_TwoReplicasStartOnAQueue_ShareItEvenly()
    {
        // What a replica holds follows the job duration: 100 ms jobs on 3 slots hold 5 beyond the running ones, so
        // neither replica hoards the queue although the read cap (BatchSize) is 1,000.
        var ports = new[] { Ports.Free(), Ports.Free() };
        var workers = ports.Select(port => WorkerProcess.Start(
            Settings(("Worker:Http:Port", port.ToString(CultureInfo.InvariantCulture)), ("Worker:Http:Host", "127.0.0.1")), "run")).ToArray();
        try
        {
            using var http = new HttpClient();
            async Task<double> ProcessedAsync(int port)
            {
                try
                {
                    var line = (await http.GetStringAsync($"http://127.0.0.1:{port}/metrics")).Split('\n')
                        .FirstOrDefault(l => l.StartsWith("worker_jobs_processed_total{", StringComparison.Ordinal) && l.Contains("job_type=\"noop\"", StringComparison.Ordinal));
                    return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                }
                catch (HttpRequestException)
                {
                    return 0;
                }
            }

            // Both reading before the jobs arrive, as a deploy's replicas are when a burst comes.
            await Eventually.TrueAsync(
                async () => await Engine.EngineTestBase.ReaderParkedAsync(ConsumerOf(workers[0])) && await Engine.EngineTestBase.ReaderParkedAsync(ConsumerOf(workers[1])),
                "both replicas' readers parked on the stream", TimeSpan.FromSeconds(60));
            var jobs = await EnqueueAsync(200, """{"delay_ms":100}""");
            var held = new List<string>();
            var sampling = Task.Run(async () =>
            {
                while (held.Count < 100)
                {
                    var consumers = await Db.StreamConsumerInfoAsync(_stream, Group);
                    held.Add(string.Join("/", consumers.Select(c => c.PendingMessageCount)));
                    await Task.Delay(100);
                }
            });
            var done = await Eventually.GetAsync(
                async () => new[] { await ProcessedAsync(ports[0]), await ProcessedAsync(ports[1]) },
                counts => counts.Sum() >= jobs.Count, $"the {jobs.Count} jobs to be processed", TimeSpan.FromSeconds(120));
            TestContext.Out.WriteLine($"churn: 200 jobs of 100 ms over two replicas: {done[0]} and {done[1]}");
            TestContext.Out.WriteLine($"held by each, every 100 ms: {string.Join(" ", held.Take(40))}");
            Assert.That(done.Max(), Is.LessThanOrEqualTo(0.6 * jobs.Count), "neither replica did more than 60%");
        }
        finally
        {
            foreach (var worker in workers)
            {
                worker.Dispose();
            }
        }
    }
}
