using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using Worker.Jobs;
using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>The maintenance loop on its own, against real Redis, its steps timed by a fake clock.</summary>
[TestFixture]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class ConsumerMaintenanceTests : EngineTestBase
{
    private const string Consumer = "maintenance-test";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
    private readonly ConcurrentDictionary<string, byte> _owned = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _drained = new();
    private JobStreamClient _client = null!;
    private Task? _loop;

    [SetUp]
    public void NewClient() =>
        _client = new JobStreamClient(
            Infrastructure.Redis, JobTypeSettings.Resolve("noop", new JobTypeOptions { Stream = Stream, VisibilityTimeout = TimeSpan.FromSeconds(30) }),
            Consumer);

    [TearDown]
    public async Task StopLoop()
    {
        _stopping.Cancel();
        _drained.Cancel();
        if (_loop is not null)
        {
            await _loop;
        }
    }

    private void StartLoop() =>
        _loop = new ConsumerMaintenance(_client, _owned, TestMetrics.Create(), _time, NullLogger.Instance).RunAsync(_stopping.Token, _drained.Token);

    private async Task<string> HoldOneAsync()
    {
        await Db.StreamAddAsync(Stream, [new NameValueEntry("type", "noop"), new NameValueEntry("payload", "{}")]);
        var id = (await ReadAsGhostAsync(Consumer, 1)).Single().Id.ToString();
        _owned[id] = 0;
        return id;
    }

    private async Task<double> IdleMsAsync(string id) =>
        (await Db.StreamPendingMessagesAsync(Stream, "workers", 1, Consumer, id, id)).Single().IdleTimeInMilliseconds;

    /// <summary>
    /// Advances the clock a third of the visibility timeout at each look, each bringing a heartbeat, until the entry's
    /// idle time is back under 300 ms: whenever this thread gets to look, one has just run.
    /// </summary>
    private Task<double> HeartbeatResetsIdleAsync(string id, string what) =>
        Eventually.GetAsync(
            () =>
            {
                _time.Advance(TimeSpan.FromSeconds(10));
                return IdleMsAsync(id);
            },
            idle => idle < 300, what);

    [Test]
    public async Task DueRetry_IsPromotedOntoTheStreamWhenTheClockReachesIt()
    {
        var id = await HoldOneAsync();
        var due = _time.GetUtcNow().AddSeconds(5);
        Assert.That(await _client.ScheduleRetryAsync(id, [new NameValueEntry("type", "noop"), new NameValueEntry("attempt", "2")], due), Is.True);
        StartLoop();

        // Not before its time: the promotion the first advance wakes finds it a second early.
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.That(await Db.SortedSetLengthAsync(Stream + ":delayed"), Is.EqualTo(1));

        var entries = await Eventually.GetAsync(
            async () =>
            {
                _time.Advance(TimeSpan.FromMilliseconds(250));
                return await Db.StreamRangeAsync(Stream);
            },
            e => e.Any(x => Field(x, "attempt") == "2"), "the retry promoted onto the stream");
        Assert.That(entries.Count(x => Field(x, "attempt") == "2"), Is.EqualTo(1));
        Assert.That(await Db.SortedSetLengthAsync(Stream + ":delayed"), Is.Zero);
    }

    [Test]
    public async Task HeldEntry_HeartbeatEveryThirdOfTheVisibilityTimeout_KeepsItFresh()
    {
        var id = await HoldOneAsync();
        StartLoop();
        await Eventually.GetAsync(() => IdleMsAsync(id), idle => idle >= 300, "the entry to sit idle for 300 ms");

        await HeartbeatResetsIdleAsync(id, "the heartbeat to reset its idle time");
    }

    [Test]
    public async Task Stopping_HeartbeatsGoOnUntilDrained()
    {
        var id = await HoldOneAsync();
        StartLoop();
        _stopping.Cancel();
        await Eventually.GetAsync(() => IdleMsAsync(id), idle => idle >= 300, "the entry to sit idle for 300 ms");

        await HeartbeatResetsIdleAsync(id, "a draining job's entry to keep its heartbeat");
        _drained.Cancel();
        await _loop!;
    }
}
