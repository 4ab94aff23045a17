using System.Diagnostics;
using System.Security.Authentication;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Worker.Hosting;
using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>
/// The contract both readers keep with the read loop, against a real Redis: the socket reader a single endpoint gets
/// (plain or TLS, one endpoint or several, a cluster), and the multiplexer reader Sentinel and tunnels fall back to.
/// </summary>
[TestFixture]
public sealed class StreamReaderTests : EngineTestBase
{
    public enum Kind { Socket, Multiplexer }

    /// <summary>
    /// Block time of a read a test waits to see parked: longer than <see cref="Eventually.DefaultTimeout"/>, so the
    /// probe's deadline ends the wait, never the read's own timeout (a read that ended unseen never parks again).
    /// </summary>
    private static readonly TimeSpan Block = TimeSpan.FromSeconds(60);

    /// <summary>Each reader's client name, which (unlike its client id) survives a reconnect of the multiplexer reader.</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IStreamReader, string> Names = [];

    private static async Task<IStreamReader> ConnectAsync(Kind kind, string? configuration = null)
    {
        var options = ConfigurationOptions.Parse(configuration ?? TestEnvironment.Redis);
        var name = $"test-{Guid.NewGuid():N}";
        IStreamReader reader = kind == Kind.Socket
            ? await SocketStreamReader.ConnectAsync(options, name)
            : await MultiplexerStreamReader.ConnectAsync(options, name, Block);
        Names.Add(reader, name);
        return reader;
    }

    private Task CreateGroupAsync() => Db.StreamCreateConsumerGroupAsync(Stream, "workers", "$", createStream: true);

    /// <summary>Waits until <paramref name="read"/> is blocked on Redis (on <paramref name="server"/>, else the test Redis).</summary>
    private static Task WaitParkedAsync(IStreamReader reader, Task read, IServer? server = null) =>
        Eventually.TrueAsync(
            async () =>
            {
                // A read that ended (an error, or its block time) will not park again: say so now, not at the deadline.
                Assert.That(read.IsCompleted, Is.False, () => $"the read ended before it was seen parked: {read.Exception?.GetBaseException().Message ?? "no entries"}");
                var clients = (string?)await (server is null ? Db.ExecuteAsync("CLIENT", "LIST") : server.ExecuteAsync("CLIENT", "LIST"));
                // By name when the test named it: the multiplexer reader may have reconnected (a new client id, its
                // read sent again) on a loaded machine; else by the id it reports.
                var mine = Names.TryGetValue(reader, out var name) ? $" name={name} " : null;
                return clients!.Split('\n').Any(c => c.Contains("flags=b", StringComparison.Ordinal)
                    && (mine is not null ? c.Contains(mine, StringComparison.Ordinal) : c.StartsWith($"id={reader.ClientId} ", StringComparison.Ordinal)));
            },
            "the read to park");

    [Test]
    public async Task ReadAsync_EntryAddedWhileParked_ReturnsItWithItsFields([Values] Kind kind)
    {
        await CreateGroupAsync();
        await using var reader = await ConnectAsync(kind);

        // The socket reader waits on the caller's thread, as the read loop's own pool thread does.
        var read = Task.Run(async () => await reader.ReadAsync(Stream, "workers", "c1", 10, Block));
        await WaitParkedAsync(reader, read);
        var id = await AddRawAsync(("type", "noop"), ("payload", """{"n":1}"""), ("job_id", "j1"));
        var entry = (await read.WaitAsync(TimeSpan.FromSeconds(10))).Single();

        Assert.That(entry.Id, Is.EqualTo(id));
        Assert.That(entry.Values.Select(v => $"{v.Name}={v.Value}"), Is.EqualTo(new[] { "type=noop", """payload={"n":1}""", "job_id=j1" }));
    }

    [Test]
    public async Task ReadAsync_Backlog_ReadsUpToCountWithoutBlocking([Values] Kind kind)
    {
        await CreateGroupAsync();
        for (var i = 0; i < 5; i++)
        {
            await AddRawAsync(("type", "noop"), ("payload", "{}"));
        }

        await using var reader = await ConnectAsync(kind);

        Assert.That(await reader.ReadAsync(Stream, "workers", "c1", 3, TimeSpan.Zero), Has.Length.EqualTo(3));
        Assert.That(await reader.ReadAsync(Stream, "workers", "c1", 3, TimeSpan.Zero), Has.Length.EqualTo(2));
        Assert.That(await reader.ReadAsync(Stream, "workers", "c1", 3, TimeSpan.Zero), Is.Empty);
        Assert.That(await PendingAsync(), Is.EqualTo(5), "what was read is pending under the consumer");
    }

    [Test]
    public async Task ReadAsync_WithAcks_AcksThemInTheSameRoundTripAndStillReads([Values] Kind kind)
    {
        await CreateGroupAsync();
        for (var i = 0; i < 4; i++)
        {
            await AddRawAsync(("type", "noop"), ("payload", "{}"));
        }

        await using var reader = await ConnectAsync(kind);
        var first = await reader.ReadAsync(Stream, "workers", "c1", 3, TimeSpan.Zero);
        var ids = first.Select(e => (string)e.Id!).ToArray();

        var next = await reader.ReadAsync(Stream, "workers", "c1", 3, TimeSpan.Zero, ids);

        Assert.That(next, Has.Length.EqualTo(1), "the read after the ack");
        Assert.That(await PendingAsync(), Is.EqualTo(1), "the three acked entries left the pending list; the one just read is there");
    }

    [Test]
    public async Task ReadAsync_WithAcksThenParked_AcksBeforeWaiting([Values] Kind kind)
    {
        await CreateGroupAsync();
        await AddRawAsync(("type", "noop"), ("payload", "{}"));
        await using var reader = await ConnectAsync(kind);
        var id = (string)(await reader.ReadAsync(Stream, "workers", "c1", 10, TimeSpan.Zero)).Single().Id!;

        var read = Task.Run(async () => await reader.ReadAsync(Stream, "workers", "c1", 10, Block, new[] { id }));
        await WaitParkedAsync(reader, read);

        Assert.That(await PendingAsync(), Is.Zero, "the ack was applied before the read parked, not when it returns");
        await AddRawAsync(("type", "noop"), ("payload", "{}"));
        Assert.That(await read.WaitAsync(TimeSpan.FromSeconds(10)), Has.Length.EqualTo(1));
    }

    [Test]
    public async Task ReadAsync_AcksOnEveryRead_AfterTheFirstRedisIsAskedNotToReplyAndTheReadsStayInStep()
    {
        using var redis = new PrivateRedis();
        await redis.StartAsync();
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true");

        var (calls, rejected) = await CarryAcksOnEveryReadAsync(admin, redis.Configuration);

        Assert.That(calls, Is.EqualTo(5), "one at connect, then one before each carried ack but the first (five reads carried acks)");
        Assert.That(rejected, Is.Zero);
    }

    [Test]
    public async Task ReadAsync_UserMayNotSkipReplies_EveryAckIsAnsweredAndApplied()
    {
        using var redis = new PrivateRedis();
        await redis.StartAsync();
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true");
        await admin.GetDatabase().ExecuteAsync("ACL", "SETUSER", "jobs", "on", ">s3cret", "~*", "&*", "+@all", "-client|reply");

        var (calls, rejected) = await CarryAcksOnEveryReadAsync(admin, $"{redis.Configuration},user=jobs,password=s3cret");

        Assert.That(calls, Is.Zero);
        Assert.That(rejected, Is.EqualTo(1), "only the question at connect");
    }

    [Test]
    public async Task ReadAsync_OverTls_ParksCarriesAcksAndSkipsTheirRepliesAsOnAPlainSocket()
    {
        // The server has no plain port: every connection that works here is TLS.
        using var redis = PrivateRedis.WithTls();
        await redis.StartAsync();
        using var trust = TestCertificates.TrustAmbiently();
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true");

        var (calls, rejected) = await CarryAcksOnEveryReadAsync(admin, redis.Configuration);

        Assert.That(calls, Is.EqualTo(5), "one at connect, then one before each carried ack but the first");
        Assert.That(rejected, Is.Zero);
    }

    [TestCase(false, "localhost", TestName = "ConnectAsync_TlsServerOfAnIssuerNobodyTrusts_Refuses")]
    [TestCase(true, "redis.example", TestName = "ConnectAsync_TlsServerWhoseCertificateNamesAnotherHost_Refuses")]
    public async Task ConnectAsync_TlsServerNotToBeTrusted_Refuses(bool trustIssuer, string sslHost)
    {
        using var redis = PrivateRedis.WithTls();
        await redis.StartAsync();
        using var trust = trustIssuer ? TestCertificates.TrustAmbiently() : null;

        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectAsync(Kind.Socket, $"127.0.0.1:{redis.Port},ssl=true,sslHost={sslHost}"));

        Assert.That(error!.InnerException, Is.InstanceOf<AuthenticationException>());
    }

    /// <summary>
    /// Five reads of two new entries each, every read after the first carrying the acks of the one before, then a parked
    /// read carrying the last acks. Each read must return exactly the entries added for it, and every ack must be
    /// applied (the last ones before the parked read returns). Gives Redis's count of CLIENT REPLY calls and refusals.
    /// </summary>
    private async Task<(long Calls, long Rejected)> CarryAcksOnEveryReadAsync(ConnectionMultiplexer admin, string configuration)
    {
        var db = admin.GetDatabase();
        await db.StreamCreateConsumerGroupAsync(Stream, "workers", "$", createStream: true);
        await using var reader = await ConnectAsync(Kind.Socket, configuration);
        string[] acks = [];
        for (var round = 0; round < 5; round++)
        {
            RedisValue[] added = [await db.StreamAddAsync(Stream, "type", "noop"), await db.StreamAddAsync(Stream, "type", "noop")];

            var read = await reader.ReadAsync(Stream, "workers", "c1", 10, TimeSpan.Zero, acks);

            Assert.That(read.Select(e => e.Id), Is.EqualTo(added), $"round {round}: the entries added for it");
            acks = [.. read.Select(e => (string)e.Id!)];
        }

        var parked = Task.Run(async () => await reader.ReadAsync(Stream, "workers", "c1", 10, Block, acks));
        await Eventually.TrueAsync(
            async () => (await db.StreamPendingAsync(Stream, "workers")).PendingMessageCount == 0, "every ack applied while the last read is parked");
        var last = await db.StreamAddAsync(Stream, "type", "noop");
        Assert.That((await parked.WaitAsync(TimeSpan.FromSeconds(10))).Select(e => e.Id), Is.EqualTo(new[] { last }));

        // cmdstat_client|reply:calls=4,usec=9,usec_per_call=2.25,rejected_calls=0,failed_calls=0 (absent when never called)
        var line = ((string?)await db.ExecuteAsync("INFO", "commandstats"))!.Split('\n')
            .FirstOrDefault(l => l.StartsWith("cmdstat_client|reply:", StringComparison.Ordinal));
        var stats = line?[(line.IndexOf(':') + 1)..].Trim().Split(',').Select(f => f.Split('=')).ToDictionary(f => f[0], f => long.Parse(f[1].Split('.')[0]));
        return (stats?["calls"] ?? 0, stats?["rejected_calls"] ?? 0);
    }

    [Test]
    public async Task ReadAsync_NothingArrives_ReturnsNoEntriesAtTheBlockTime([Values] Kind kind)
    {
        await CreateGroupAsync();
        await using var reader = await ConnectAsync(kind);

        var entries = await reader.ReadAsync(Stream, "workers", "c1", 10, TimeSpan.FromMilliseconds(50)).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.That(entries, Is.Empty);
    }

    [Test]
    public async Task ReadAsync_NoGroup_FailsWithNoGroupAndTheNextReadWorks([Values] Kind kind)
    {
        await using var reader = await ConnectAsync(kind);

        var error = await Assert.ThrowsAsync<RedisServerException>(async () => await reader.ReadAsync(Stream, "workers", "c1", 10, TimeSpan.Zero));

        Assert.That(error!.Message, Does.StartWith("NOGROUP"));
        await CreateGroupAsync();
        await AddRawAsync(("type", "noop"), ("payload", "{}"));
        Assert.That(await reader.ReadAsync(Stream, "workers", "c1", 10, TimeSpan.Zero), Has.Length.EqualTo(1));
    }

    [Test]
    public async Task UnblockAllAsync_ParkedRead_EndsItAtOnceWithNoEntries([Values] Kind kind)
    {
        await CreateGroupAsync();
        await using var reader = await ConnectAsync(kind);
        var read = Task.Run(async () => await reader.ReadAsync(Stream, "workers", "c1", 10, Block));
        await WaitParkedAsync(reader, read);
        var watch = Stopwatch.StartNew();

        await StreamReaders.UnblockAllAsync(TestEnvironment.Redis, [reader]);
        var entries = await read.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.That(entries, Is.Empty);
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "not the 30 s block time");
    }

    [Test]
    public async Task ReadAsync_ConnectionKilledWhileParked_FailsThenReconnectsWithANewClientId()
    {
        await CreateGroupAsync();
        await using var reader = await ConnectAsync(Kind.Socket);
        var first = reader.ClientId;
        var read = Task.Run(async () => await reader.ReadAsync(Stream, "workers", "c1", 10, Block));
        await WaitParkedAsync(reader, read);

        await Db.ExecuteAsync("CLIENT", "KILL", "ID", first);

        await Assert.ThrowsAsync<RedisConnectionException>(() => read.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.That(reader.ClientId, Is.EqualTo(-1), "no id to unblock while disconnected");
        await AddRawAsync(("type", "noop"), ("payload", "{}"));
        Assert.That(await reader.ReadAsync(Stream, "workers", "c1", 10, TimeSpan.Zero), Has.Length.EqualTo(1));
        Assert.That(reader.ClientId, Is.Not.EqualTo(first).And.GreaterThan(0));
    }

    [Test]
    public async Task ReadAsync_KeyLongerThanTheCommandBuffer_Reads()
    {
        var key = Stream + new string('k', 3000);
        await Db.StreamCreateConsumerGroupAsync(key, "workers", "$", createStream: true);
        await Db.StreamAddAsync(key, "type", "noop");
        try
        {
            await using var reader = await ConnectAsync(Kind.Socket);

            Assert.That(await reader.ReadAsync(key, "workers", "c1", 10, TimeSpan.Zero), Has.Length.EqualTo(1));
        }
        finally
        {
            await Db.KeyDeleteAsync(key);
        }
    }

    [Test]
    public async Task Run_TwoEndpoints_SocketReaderOnTheNodeTheMultiplexerChoseAndTheJobRuns()
    {
        // Two names for the one test server: the reader goes where the shared connection sends the stream's commands.
        var port = TestEnvironment.RedisAddress.Port;
        var sink = new RecordingSink();
        await using var host = await WorkerTestHost.StartAsync(
            Settings(
                ("ConnectionStrings:Redis", $"127.0.0.1:{port},localhost:{port},abortConnect=false"),
                ("Serilog:MinimumLevel:Default", "Information")),
            services => services.AddSingleton<Serilog.Core.ILogEventSink>(sink));

        var jobId = await EnqueueDirectAsync("""{"effect":true}""");

        await WaitForStatusAsync(jobId, "succeeded");
        var consumers = host.Host.Services.GetRequiredService<ConsumerPoolService>().Consumers;
        Assert.That(consumers.Select(c => c.Reader), Has.All.InstanceOf<SocketStreamReader>());
        Assert.That(consumers.Single().Reader!.Server?.ToString(), Does.EndWith($":{port}"));
        Assert.That(sink.WithEventId(1103), Is.Empty, "no fallback to report");
    }

    [Test]
    public async Task ReadAsync_ClusterNodeWithoutTheKeysSlot_FollowsTheRedirectAndReads()
    {
        var nodes = Enumerable.Range(0, 3).Select(_ => new PrivateRedis("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")).ToList();
        try
        {
            foreach (var node in nodes)
            {
                await node.StartAsync();
            }

            var create = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "--cluster", "create" }.Concat(nodes.Select(n => n.Configuration)).Concat(["--cluster-replicas", "0", "--cluster-yes"]))
            {
                create.ArgumentList.Add(arg);
            }

            using (var cli = Process.Start(create)!)
            {
                var output = await cli.StandardOutput.ReadToEndAsync();
                await cli.WaitForExitAsync();
                Assert.That(cli.ExitCode, Is.Zero, output);
            }

            await using var cluster = await ConnectionMultiplexer.ConnectAsync(string.Join(",", nodes.Select(n => n.Configuration)) + ",allowAdmin=true");
            await Eventually.TrueAsync(
                async () =>
                {
                    foreach (var node in nodes)
                    {
                        var info = (string?)await cluster.GetServer(node.Configuration).ExecuteAsync("CLUSTER", "INFO");
                        if (info?.Contains("cluster_state:ok", StringComparison.Ordinal) != true)
                        {
                            return false;
                        }
                    }

                    return true;
                },
                "every node to report the cluster ok");
            var db = cluster.GetDatabase();
            await db.StreamCreateConsumerGroupAsync(Stream, "workers", "$", createStream: true);
            var owner = ((System.Net.IPEndPoint)(await db.IdentifyEndpointAsync(Stream))!).Port;
            var other = nodes.First(n => n.Port != owner);
            await using var reader = await SocketStreamReader.ConnectAsync(ConfigurationOptions.Parse(other.Configuration), "test-cluster");
            var id = await db.StreamAddAsync(Stream, "type", "noop");

            var entries = await reader.ReadAsync(Stream, "workers", "c1", 10, TimeSpan.Zero);

            Assert.That(entries.Select(e => e.Id), Is.EqualTo(new[] { id }));
            var parked = Task.Run(async () => await reader.ReadAsync(Stream, "workers", "c1", 10, Block));
            await WaitParkedAsync(reader, parked, cluster.GetServer($"127.0.0.1:{owner}"));
            var next = await db.StreamAddAsync(Stream, "type", "noop");
            Assert.That((await parked.WaitAsync(TimeSpan.FromSeconds(10))).Select(e => e.Id), Is.EqualTo(new[] { next }));
        }
        finally
        {
            foreach (var node in nodes)
            {
                node.Dispose();
            }
        }
    }

    [Test]
    public async Task Run_Tls_SocketReaderTrustsTheIssuerTheMultiplexerTrustsAndTheJobRuns()
    {
        using var redis = PrivateRedis.WithTls();
        await redis.StartAsync();
        using var trust = TestCertificates.TrustAmbiently();
        var configuration = $"{redis.Configuration},abortConnect=false";
        var sink = new RecordingSink();
        await using var host = await WorkerTestHost.StartAsync(
            Settings(("ConnectionStrings:Redis", configuration), ("Serilog:MinimumLevel:Default", "Information")),
            services => services.AddSingleton<Serilog.Core.ILogEventSink>(sink));
        using var producer = await ConnectionMultiplexer.ConnectAsync(configuration);
        var jobId = NewJobId();
        await producer.GetDatabase().StreamAddAsync(Stream, [new("type", "noop"), new("payload", """{"effect":true}"""), new("job_id", jobId)]);

        await WaitForStatusAsync(jobId, "succeeded");
        var consumers = host.Host.Services.GetRequiredService<ConsumerPoolService>().Consumers;
        Assert.That(consumers.Select(c => c.Reader), Has.All.InstanceOf<SocketStreamReader>());
        Assert.That(sink.WithEventId(1103), Is.Empty, "no fallback to the multiplexer reader announced");
    }

    [Test]
    public async Task Run_AclUserPasswordAndDatabase_SocketReaderAuthenticatesSelectsAndTheJobRuns()
    {
        using var redis = new PrivateRedis();
        await redis.StartAsync();
        await using (var admin = await ConnectionMultiplexer.ConnectAsync(redis.Configuration))
        {
            await admin.GetDatabase().ExecuteAsync("ACL", "SETUSER", "jobs", "on", ">s3cret", "~*", "&*", "+@all");
            await admin.GetDatabase().ExecuteAsync("ACL", "SETUSER", "default", "off");
        }

        var configuration = $"{redis.Configuration},user=jobs,password=s3cret,defaultDatabase=3,abortConnect=false";
        await using var host = await WorkerTestHost.StartAsync(Settings(("ConnectionStrings:Redis", configuration)));
        using var producer = await ConnectionMultiplexer.ConnectAsync(configuration + ",allowAdmin=true");
        var db = producer.GetDatabase();
        var jobId = NewJobId();
        await db.StreamAddAsync(Stream, [new("type", "noop"), new("payload", """{"effect":true}"""), new("job_id", jobId)]);

        await WaitForStatusAsync(jobId, "succeeded");
        var readers = ((string?)await db.ExecuteAsync("CLIENT", "LIST"))!.Split('\n').Where(c => c.Contains(":reader ", StringComparison.Ordinal)).ToList();
        Assert.That(readers, Is.Not.Empty);
        Assert.That(readers, Has.All.Contains(" db=3 ").And.All.Contains(" user=jobs "));
        var consumers = host.Host.Services.GetRequiredService<ConsumerPoolService>().Consumers;
        Assert.That(consumers.Select(c => c.Reader), Has.All.InstanceOf<SocketStreamReader>());
    }
}
