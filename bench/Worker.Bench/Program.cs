using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;
using Worker.Bench;
using Worker.Hosting;
using Worker.Jobs;
using Worker.Streams;

// Engine benchmarks against the Redis and PostgreSQL that bench/run starts. Prints one line per scenario.
//   drain N CONCURRENCY BATCH PERSIST [WARMUP]
//                                       pre-fill N no-op jobs, then time one worker host emptying the stream; with
//                                       WARMUP > 0 a first host drains WARMUP jobs of another stream in the same process
//                                       before (a warm process: its code compiled, as in a worker that has been up)
//                                       (BENCH_TRACE=1: progress over time; BENCH_ALLOC=1: allocations by type)
//   drain-process N [KEY=VALUE ...]     from outside: pre-fill N no-op jobs, start the shipped worker (BENCH_WORKER, its
//                                       command line) with `run` and only the given settings (as environment variables,
//                                       e.g. Worker__Jobs__noop__Concurrency=100) beside the noop type switched on, and
//                                       time its first read to its last ack by watching the group (XINFO GROUPS)
//   enqueue N BATCH PRODUCERS           enqueue only: PRODUCERS loops of calls of BATCH jobs (1: EnqueueAsync), jobs/s
//   latency RATE SECONDS [WARMUP]       open-loop producer at RATE jobs/s; enqueue-to-handler-start percentiles; with
//                                       WARMUP > 0 the producer first runs WARMUP s unmeasured (a warm process: a
//                                       worker that has been up has its code compiled; the first seconds still JIT)
//                                       (BENCH_TIMELINE=path: each pickup's stamp and latency)
//   latency-floor RATE SECONDS [WARMUP] the same producer into a bare blocking XREADGROUP loop: the machine's floor
//   latency-external RATE SECONDS [WARMUP] as latency, the producer another process (BENCH_PRODUCER: bench/floor in C)
//   latency-floor-raw RATE SECONDS      the C floor's shape in .NET: producer and blocking reader threads on plain sockets
//   wake RATE SECONDS [SENDER RECEIVER] one thread waking another over a loopback socket, optionally pinned to CPUs
var scenario = args.ElementAtOrDefault(0) ?? "drain";
var json = Environment.GetEnvironmentVariable("BENCH_JSON") == "1";
var trace = Environment.GetEnvironmentVariable("BENCH_TRACE") == "1";
using var allocations = Environment.GetEnvironmentVariable("BENCH_ALLOC") == "1" ? new AllocationSampler() : null;
var redis = Environment.GetEnvironmentVariable("BENCH_REDIS") ?? "127.0.0.1:16379";
var postgres = Environment.GetEnvironmentVariable("BENCH_POSTGRES") ?? "Host=127.0.0.1;Port=15432;Username=postgres;Database=worker";
var stream = $"bench:{{{Guid.NewGuid():N}}}";
var mux = await ConnectionMultiplexer.ConnectAsync(redis + ",allowAdmin=true"); // INFO cpu: where the cores went
var db = mux.GetDatabase();
try
{
    switch (scenario)
    {
        case "drain":
            var (concurrency, batch, persist, warmup) = (Int("CONCURRENCY", 2, 16), Int("BATCH", 3, 500), Bool(4, false), Int("WARMUP", 5, 0));
            if (warmup > 0)
            {
                await DrainAsync($"bench:{{{Guid.NewGuid():N}}}", warmup, concurrency, batch, persist, report: false);
            }

            await DrainAsync(stream, Int("N", 1, 50_000), concurrency, batch, persist, report: true, warm: warmup > 0);
            break;
        case "drain-process":
            await DrainProcessAsync(Int("N", 1, 50_000), args.Skip(2).ToArray());
            break;
        case "enqueue":
            await EnqueueOnlyAsync(Int("N", 1, 20_000), Int("BATCH", 2, 1), Int("PRODUCERS", 3, 1));
            break;
        case "latency":
            await LatencyAsync(Int("RATE", 1, 1000), Int("SECONDS", 2, 30), Int("WARMUP", 3, 0));
            break;
        case "latency-external":
            await LatencyAsync(Int("RATE", 1, 1000), Int("SECONDS", 2, 30), Int("WARMUP", 3, 0), external: true);
            break;
        case "latency-floor":
            await LatencyFloorAsync(Int("RATE", 1, 1000), Int("SECONDS", 2, 30), Int("WARMUP", 3, 0));
            break;
        case "latency-floor-raw":
            var endpoint = ConfigurationOptions.Parse(redis).EndPoints[0];
            var (rawRate, rawSeconds) = (Int("RATE", 1, 1000), Int("SECONDS", 2, 30));
            ReportLatency("latency_floor_raw", rawRate, rawSeconds, RawSocketProbes.Pickup(endpoint, stream, rawRate, rawSeconds), null, "XADD to a blocking reader thread, plain sockets");
            break;
        case "wake":
            var (wakeRate, wakeSeconds) = (Int("RATE", 1, 1000), Int("SECONDS", 2, 10));
            int? sender = args.Length > 3 ? Int("SENDER", 3, 0) : null, receiver = args.Length > 4 ? Int("RECEIVER", 4, 1) : null;
            ReportLatency(sender is null ? "wake" : $"wake_cpu{sender}_to_cpu{receiver}", wakeRate, wakeSeconds, RawSocketProbes.Wake(wakeRate, wakeSeconds, sender, receiver), null, "send to the receiving thread's wake-up, loopback TCP");
            break;
        default:
            Console.Error.WriteLine("usage: drain [N CONCURRENCY BATCH PERSIST WARMUP] | enqueue [N BATCH PRODUCERS] | latency [RATE SECONDS] | latency-external [RATE SECONDS] | latency-floor [RATE SECONDS] | latency-floor-raw [RATE SECONDS] | wake [RATE SECONDS SENDER_CPU RECEIVER_CPU]");
            return 64;
    }
}
finally
{
    await db.KeyDeleteAsync([stream, stream + ":dlq", stream + ":delayed"]);
}

return 0;

int Int(string name, int at, int fallback) => args.Length > at ? int.Parse(args[at], CultureInfo.InvariantCulture) : fallback;
bool Bool(int at, bool fallback) => args.Length > at ? bool.Parse(args[at]) : fallback;

IHost BuildHost(string jobType, Dictionary<string, string?> settings, Action<IServiceCollection>? services = null, string? streamKey = null)
{
    var merged = new Dictionary<string, string?>
    {
        ["ConnectionStrings:Redis"] = redis,
        ["ConnectionStrings:Postgres"] = postgres,
        ["Serilog:MinimumLevel:Default"] = "Warning",
        ["Serilog:MinimumLevel:Override:Microsoft.Hosting.Lifetime"] = "Warning",
        [$"Worker:Jobs:{jobType}:Enabled"] = "true",
        [$"Worker:Jobs:{jobType}:Stream"] = streamKey ?? stream,
        ["Worker:Events:SucceededChannel"] = "",
        ["Worker:Http:Port"] = "0",
    };
    foreach (var (key, value) in settings)
    {
        merged[key] = value;
    }

    var builder = WorkerHost.CreateBuilder(consumers: true, merged);
    services?.Invoke(builder.Services);
    return builder.Build();
}

async Task DrainAsync(string key, int n, int concurrency, int batch, bool persist, bool report, bool warm = false)
{
    using var host = BuildHost("noop", new()
    {
        ["Worker:Jobs:noop:Concurrency"] = concurrency.ToString(CultureInfo.InvariantCulture),
        ["Worker:Jobs:noop:BatchSize"] = batch.ToString(CultureInfo.InvariantCulture),
        ["Worker:Jobs:noop:PersistState"] = persist.ToString(),
        ["Worker:Jobs:noop:MaxBacklog"] = "0",
    }, streamKey: key);
    var queue = host.Services.GetRequiredService<JobQueue>();
    var enqueue = Stopwatch.StartNew();
    var payloads = Enumerable.Range(0, 1000).Select(_ => new JobRequest("{}")).ToArray();
    for (var done = 0; done < n; done += payloads.Length)
    {
        await queue.EnqueueBatchAsync("noop", payloads[..Math.Min(payloads.Length, n - done)]);
    }

    var enqueueSeconds = enqueue.Elapsed.TotalSeconds;
    var gcBefore = GC.CollectionCount(0);
    var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
    var cpu = await CpuSinceAsync();
    // The clock starts once the host is up (configuration, DI, connections: about 0.3 s, once per process), as
    // BullMQ's starts at its Worker's creation: both then measure the drain itself.
    var startup = Stopwatch.StartNew();
    if (report)
    {
        allocations?.Start();
    }

    await host.StartAsync();
    var startupSeconds = startup.Elapsed.TotalSeconds;
    var drain = Stopwatch.StartNew();
    var firstRead = TimeSpan.Zero;
    var progress = new List<(double Seconds, long Done)>();
    while (true)
    {
        var group = (await db.StreamGroupInfoAsync(key)).FirstOrDefault(g => g.Name == "workers");
        if (group.Name is not null && firstRead == TimeSpan.Zero && group.EntriesRead > 0)
        {
            firstRead = drain.Elapsed;
        }

        if (group.Name is not null && group.Lag == 0 && group.PendingMessageCount == 0)
        {
            break;
        }

        if (trace && group.Name is not null)
        {
            progress.Add((drain.Elapsed.TotalSeconds, (group.EntriesRead ?? 0) - group.PendingMessageCount));
        }

        await Task.Delay(2);
    }

    var drainSeconds = drain.Elapsed.TotalSeconds;
    allocations?.Stop();
    foreach (var (at, done) in progress.Where((_, i) => i % 10 == 0))
    {
        Console.Error.WriteLine(FormattableString.Invariant($"  {at:0.000} s: {done} done"));
    }

    // Where the two cores went during the drain: this process (worker and the polling above) and Redis, in CPU
    // microseconds per job.
    var (ownCpuUs, redisCpuUs) = await cpu(n);
    var allocatedPerJob = (GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore) / (double)n;
    var committedMb = GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576.0;
    await host.StopAsync();
    if (!report)
    {
        await db.KeyDeleteAsync(key);
        return;
    }

    allocations?.Report(Console.Error, n);

    Console.WriteLine(json
        ? string.Create(CultureInfo.InvariantCulture,
            $"{{\"scenario\":\"{(persist ? "drain_persist" : "drain")}{(warm ? "_warm" : "")}\",\"n\":{n},\"jobs_per_s\":{n / drainSeconds:0},\"enqueue_jobs_per_s\":{n / enqueueSeconds:0},\"startup_s\":{startupSeconds:0.000},\"first_read_ms\":{firstRead.TotalMilliseconds:0.0},\"worker_cpu_us_per_job\":{ownCpuUs:0.00},\"redis_cpu_us_per_job\":{redisCpuUs:0.00},\"alloc_bytes_per_job\":{allocatedPerJob:0},\"peak_rss_mb\":{PeakRssMb():0}}}")
        : string.Create(CultureInfo.InvariantCulture,
            $"drain n={n} concurrency={concurrency} batch={batch} persist={persist} warm={warm}: {n / drainSeconds:0} jobs/s drained ({drainSeconds:0.00} s), " +
            $"{n / enqueueSeconds:0} jobs/s enqueued in batches of 1000, host start {startupSeconds:0.000} s, first read after {firstRead.TotalMilliseconds:0.0} ms, gen0 GCs {GC.CollectionCount(0) - gcBefore}, {allocatedPerJob:0} B allocated per job, GC committed {committedMb:0} MB, " +
            $"CPU per job: worker {ownCpuUs:0.00} µs, Redis {redisCpuUs:0.00} µs, peak RSS {PeakRssMb():0} MB"));
}

// The drain as a user meets it: the shipped binary, its shipped settings but for the ones named, in its own process.
// The clock runs from the group's first read to the moment nothing is left to read or pending (every job acked), as
// BullMQ's side runs from its Worker's creation to its last completion; the process start before (about 0.3 s) is
// reported apart.
async Task DrainProcessAsync(int n, string[] settings)
{
    var command = (Environment.GetEnvironmentVariable("BENCH_WORKER") ?? throw new InvalidOperationException("BENCH_WORKER: the worker's command line"))
        .Split(' ', StringSplitOptions.RemoveEmptyEntries);
    using (var filler = BuildHost("noop", new() { ["Worker:Jobs:noop:MaxBacklog"] = "0" }))
    {
        var queue = filler.Services.GetRequiredService<JobQueue>();
        var payloads = Enumerable.Range(0, 1000).Select(_ => new JobRequest("{}")).ToArray();
        for (var filled = 0; filled < n; filled += payloads.Length)
        {
            await queue.EnqueueBatchAsync("noop", payloads[..Math.Min(payloads.Length, n - filled)]);
        }
    }

    var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var arg in command.Skip(1).Append("run"))
    {
        start.ArgumentList.Add(arg);
    }

    start.Environment["ConnectionStrings__Redis"] = redis;
    start.Environment["ConnectionStrings__Postgres"] = postgres;
    start.Environment["Worker__Jobs__noop__Enabled"] = "true";
    start.Environment["Worker__Jobs__noop__Stream"] = stream;
    start.Environment["Worker__Http__Port"] = "0"; // no fixed port to collide with
    start.Environment["Serilog__MinimumLevel__Default"] = "Warning";
    foreach (var setting in settings)
    {
        var (name, value) = setting.IndexOf('=') is var at and > 0
            ? (setting[..at], setting[(at + 1)..])
            : throw new ArgumentException($"drain-process: '{setting}' is not KEY=VALUE");
        start.Environment[name] = value;
    }

    var (redisBefore, postgresBefore) = (await RedisCpuAsync(), PostgresCpu());
    var clock = Stopwatch.StartNew();
    using var worker = Process.Start(start)!;
    var output = worker.StandardOutput.ReadToEndAsync();
    var errors = worker.StandardError.ReadToEndAsync();
    TimeSpan? firstRead = null;
    var deadline = TimeSpan.FromMinutes(5);
    while (true)
    {
        if (worker.HasExited || clock.Elapsed > deadline)
        {
            Console.Error.WriteLine(await output + await errors);
            throw new InvalidOperationException(worker.HasExited ? $"the worker exited with {worker.ExitCode}" : "the drain took over 5 minutes");
        }

        var group = (await db.StreamGroupInfoAsync(stream)).FirstOrDefault(g => g.Name == "workers");
        if (group.Name is not null)
        {
            firstRead ??= group.EntriesRead > 0 ? clock.Elapsed : null;
            if (group.Lag == 0 && group.PendingMessageCount == 0 && group.EntriesRead >= n)
            {
                break;
            }
        }

        await Task.Delay(1);
    }

    var done = clock.Elapsed;
    var rss = PeakRssMb(worker.Id);
    // Per job, the whole run (its start too): where the two cores went.
    var workerCpu = worker.TotalProcessorTime.TotalMicroseconds / n;
    var (redisCpu, postgresCpu) = ((await RedisCpuAsync() - redisBefore).TotalMicroseconds / n, (PostgresCpu() - postgresBefore).TotalMicroseconds / n);
    worker.Kill(entireProcessTree: false); // SIGKILL: nothing is left to drain, and the stop is not what is measured
    await worker.WaitForExitAsync();
    var seconds = (done - firstRead!.Value).TotalSeconds;
    var named = string.Join(' ', settings);
    Console.WriteLine(json
        ? string.Create(CultureInfo.InvariantCulture,
            $"{{\"scenario\":\"drain_process\",\"settings\":\"{named}\",\"n\":{n},\"jobs_per_s\":{n / seconds:0},\"seconds\":{seconds:0.000},\"first_read_s\":{firstRead.Value.TotalSeconds:0.000},\"peak_rss_mb\":{rss:0},\"cpu_us_per_job\":{{\"worker\":{workerCpu:0.0},\"redis\":{redisCpu:0.0},\"postgres\":{postgresCpu:0.0}}}}}")
        : string.Create(CultureInfo.InvariantCulture,
            $"drain-process n={n} {(named.Length == 0 ? "(shipped settings)" : named)}: {n / seconds:0} jobs/s ({seconds:0.00} s from the first read, which came {firstRead.Value.TotalSeconds:0.000} s after the start), peak RSS {rss:0} MB, CPU per job: worker {workerCpu:0.0} µs, Redis {redisCpu:0.0} µs, PostgreSQL {postgresCpu:0.0} µs"));
}

// Enqueue throughput alone: PRODUCERS loops, each waiting for its call before the next, BATCH jobs a call (1: EnqueueAsync).
// What Worker:Redis:WaitForReplica costs is this with and without it (Worker__Redis__WaitForReplica=false), on a Redis
// with a replica (BENCH_REPLICA=1).
async Task EnqueueOnlyAsync(int n, int batch, int producers)
{
    using var host = BuildHost("noop", new() { ["Worker:Jobs:noop:MaxBacklog"] = "0" });
    var queue = host.Services.GetRequiredService<JobQueue>();
    var payloads = Enumerable.Range(0, batch).Select(_ => new JobRequest("{}")).ToArray();
    async Task ProduceAsync(int calls)
    {
        for (var i = 0; i < calls; i++)
        {
            if (batch == 1)
            {
                await queue.EnqueueAsync("noop", "{}");
            }
            else
            {
                await queue.EnqueueBatchAsync("noop", payloads);
            }
        }
    }

    await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => ProduceAsync(Math.Max(1, 1000 / batch / producers)))); // warm-up
    var calls = Math.Max(1, n / batch / producers);
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => ProduceAsync(calls)));
    var seconds = clock.Elapsed.TotalSeconds;
    var jobs = calls * batch * producers;
    var wait = host.Services.GetRequiredService<IConfiguration>()["Worker:Redis:WaitForReplica"] ?? "true";
    Console.WriteLine(json
        ? string.Create(CultureInfo.InvariantCulture, $"{{\"scenario\":\"enqueue_b{batch}_p{producers}\",\"n\":{jobs},\"jobs_per_s\":{jobs / seconds:0},\"wait_for_replica\":{wait.ToLowerInvariant()}}}")
        : string.Create(CultureInfo.InvariantCulture, $"enqueue n={jobs} batch={batch} producers={producers} wait_for_replica={wait}: {jobs / seconds:0} jobs/s, {seconds * 1e6 * producers / (calls * producers):0} µs a call"));
}

async Task LatencyAsync(int rate, int seconds, int warmup, bool external = false)
{
    var probe = new LatencyProbeHandler();
    using var host = BuildHost(LatencyProbeHandler.Type, new()
    {
        [$"Worker:Jobs:{LatencyProbeHandler.Type}:PersistState"] = "false",
    }, services => services.AddSingleton<IJobHandler>(probe));
    await host.StartAsync();
    var queue = host.Services.GetRequiredService<JobQueue>();
    await queue.EnqueueAsync(LatencyProbeHandler.Type, LatencyProbeHandler.Payload()); // warm-up
    await WaitForSamplesAsync(() => probe.Count, 1);
    Task Produce(int forSeconds) => external
        ? ExternalProducerAsync(rate, forSeconds)
        : OpenLoopAsync(rate, forSeconds, () => queue.EnqueueAsync(LatencyProbeHandler.Type, LatencyProbeHandler.Payload()));
    if (warmup > 0)
    {
        await Produce(warmup);
        await WaitForSamplesAsync(() => probe.Count, (rate * warmup) + 1);
    }

    probe.Clear();
    var cpu = await CpuSinceAsync();
    await Produce(seconds);
    await WaitForSamplesAsync(() => probe.Count, rate * seconds);
    var cpuPerJob = await cpu(rate * seconds);
    await host.StopAsync();
    WriteTimeline(probe.Timeline());
    ReportLatency(external ? "latency_external" : "latency", rate, seconds, probe.Samples(), cpuPerJob,
        external ? "a producer in another process (C, plain socket) to handler start" : "enqueue to handler start");
}

// The producer as a backend's own client would be: another process, writing each XADD on its sending thread
// (bench/floor/redis_floor.c in its producer mode; BENCH_PRODUCER is its path, which bench/run sets).
async Task ExternalProducerAsync(int rate, int seconds)
{
    var path = Environment.GetEnvironmentVariable("BENCH_PRODUCER")
        ?? throw new InvalidOperationException("BENCH_PRODUCER (the path of bench/floor/redis_floor built) is not set; run through ./bench/run");
    var port = ((System.Net.IPEndPoint)ConfigurationOptions.Parse(redis).EndPoints[0]).Port;
    using var producer = Process.Start(new ProcessStartInfo(path, [$"{port}", $"{rate}", $"{seconds}", stream, LatencyProbeHandler.Type]))!;
    await producer.WaitForExitAsync();
    if (producer.ExitCode != 0)
    {
        throw new InvalidOperationException($"the producer exited with {producer.ExitCode}");
    }
}

// The machine's floor for the same path without the worker: the same producer, and one bare loop parked in
// XREADGROUP ... BLOCK on a dedicated connection that stamps each entry as its reply is parsed. What the worker adds
// is the difference; what both show is this VM's scheduling noise.
async Task LatencyFloorAsync(int rate, int seconds, int warmup)
{
    var options = ConfigurationOptions.Parse(redis);
    (options.SyncTimeout, options.AsyncTimeout) = (10_000, 10_000);
    await using var dedicated = await ConnectionMultiplexer.ConnectAsync(options);
    var reader = dedicated.GetDatabase();
    await db.StreamCreateConsumerGroupAsync(stream, "floor", "0-0", createStream: true);
    var samples = new List<double>(rate * seconds + 1);
    using var stop = new CancellationTokenSource();
    var loop = Task.Run(async () =>
    {
        while (!stop.IsCancellationRequested)
        {
            var reply = await reader.ExecuteAsync("XREADGROUP", "GROUP", "floor", "c", "COUNT", 10, "BLOCK", 1000, "STREAMS", (RedisKey)stream, ">");
            var now = Stopwatch.GetTimestamp();
            foreach (var entry in StreamReplyParser.ParseReadReply(reply))
            {
                var stamp = LatencyProbeHandler.StampOf((string)entry["payload"]!);
                lock (samples)
                {
                    samples.Add(Stopwatch.GetElapsedTime(stamp, now).TotalMilliseconds);
                }
            }
        }
    });
    Task Produce(int forSeconds) => OpenLoopAsync(rate, forSeconds, () => db.StreamAddAsync(stream, "payload", LatencyProbeHandler.Payload()));
    int Count() { lock (samples) { return samples.Count; } }
    if (warmup > 0)
    {
        await Produce(warmup);
        await WaitForSamplesAsync(Count, rate * warmup);
        lock (samples)
        {
            samples.Clear();
        }
    }

    var cpu = await CpuSinceAsync();
    await Produce(seconds);
    await WaitForSamplesAsync(Count, rate * seconds);
    var cpuPerJob = await cpu(rate * seconds);
    stop.Cancel();
    await loop;
    ReportLatency("latency_floor", rate, seconds, samples, cpuPerJob, "XADD to a bare blocking reader's parsed reply");
}

// The latency scenarios' producer: paced by OpenLoop on a thread of its own, each call awaited before the next is due.
static Task OpenLoopAsync(int rate, int seconds, Func<Task> produce) => Task.Factory.StartNew(
    () => OpenLoop.Run(rate, rate * seconds, () => produce().GetAwaiter().GetResult()), TaskCreationOptions.LongRunning);

static async Task WaitForSamplesAsync(Func<int> count, int expected)
{
    var deadline = Stopwatch.StartNew();
    while (count() < expected && deadline.Elapsed < TimeSpan.FromSeconds(30))
    {
        await Task.Delay(10);
    }
}

// BENCH_TIMELINE=path: each pickup as "ms since the first stamp, latency ms", in the order the handler saw them, to tell
// a few long stalls (runs of late pickups) from a spread of slow wake-ups.
static void WriteTimeline(IEnumerable<(long Stamp, double Ms)> timeline)
{
    if (Environment.GetEnvironmentVariable("BENCH_TIMELINE") is not { Length: > 0 } path)
    {
        return;
    }

    var points = timeline.ToArray();
    var first = points.Length > 0 ? points.Min(p => p.Stamp) : 0;
    File.WriteAllLines(path, points.Select(p => string.Create(CultureInfo.InvariantCulture,
        $"{Stopwatch.GetElapsedTime(first, p.Stamp).TotalMilliseconds:0.000} {p.Ms:0.000}")));
}

// p50, p99, p999 and max; with the CPU per job of this process and of Redis when a worker ran (the probes have none).
void ReportLatency(string name, int rate, int seconds, IEnumerable<double> measured, (double Own, double Redis)? cpuUs, string what)
{
    var samples = measured.Order().ToArray();
    double P(double q) => samples[Math.Min(samples.Length - 1, (int)(q * samples.Length))];
    Console.WriteLine(json
        ? string.Create(CultureInfo.InvariantCulture,
            $"{{\"scenario\":\"{name}\",\"n\":{samples.Length},\"p50_ms\":{P(0.50):0.000},\"p99_ms\":{P(0.99):0.000},\"p999_ms\":{P(0.999):0.000},\"max_ms\":{samples[^1]:0.000}{(cpuUs is { } c ? string.Create(CultureInfo.InvariantCulture, $",\"cpu_us_per_job\":{c.Own:0.0},\"redis_cpu_us_per_job\":{c.Redis:0.0}") : "")}}}")
        : string.Create(CultureInfo.InvariantCulture,
            $"{name} rate={rate}/s for {seconds} s: n={samples.Length} p50 {P(0.50):0.000} ms, p99 {P(0.99):0.000} ms, p999 {P(0.999):0.000} ms, max {samples[^1]:0.000} ms ({what}){(cpuUs is { } c2 ? string.Create(CultureInfo.InvariantCulture, $", CPU per job: this process {c2.Own:0.0} µs, Redis {c2.Redis:0.0} µs") : "")}"));
}

// Starts counting this process's and Redis's CPU; the returned function gives each in microseconds per job.
async Task<Func<int, Task<(double Own, double Redis)>>> CpuSinceAsync()
{
    var (own, redisCpu) = (Environment.CpuUsage.TotalTime, await RedisCpuAsync());
    return async jobs => ((Environment.CpuUsage.TotalTime - own).TotalMicroseconds / jobs, (await RedisCpuAsync() - redisCpu).TotalMicroseconds / jobs);
}

async Task<TimeSpan> RedisCpuAsync()
{
    // Every node's: on a cluster (BENCH_CLUSTER=1) the replicas' CPU is part of what a job costs Redis.
    double seconds = 0;
    foreach (var server in mux.GetServers())
    {
        var info = (await server.ExecuteAsync("INFO", "cpu")).ToString();
        foreach (var line in info.Split('\n'))
        {
            if (line.StartsWith("used_cpu_user:", StringComparison.Ordinal) || line.StartsWith("used_cpu_sys:", StringComparison.Ordinal))
            {
                seconds += double.Parse(line[(line.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture);
            }
        }
    }

    return TimeSpan.FromSeconds(seconds);
}

// The CPU time of every process named postgres on this machine (the bench's server and its backends).
static TimeSpan PostgresCpu()
{
    long ticks = 0;
    foreach (var dir in Directory.EnumerateDirectories("/proc"))
    {
        try
        {
            if (File.ReadAllText(Path.Combine(dir, "comm")).Trim() != "postgres")
            {
                continue;
            }

            var stat = File.ReadAllText(Path.Combine(dir, "stat"));
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // A process that ended meanwhile, or a name that is not a pid.
        }
    }

    return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ
}

static double PeakRssMb(int? pid = null)
{
    foreach (var line in File.ReadLines($"/proc/{(pid is { } p ? p.ToString(CultureInfo.InvariantCulture) : "self")}/status"))
    {
        if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
        {
            return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        }
    }

    return double.NaN;
}
