using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using Worker.Jobs;
using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>The reader on its own against real Redis, with slots that record what they ran; its looks timed by a fake clock.</summary>
[TestFixture]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class EntryReaderTests : EngineTestBase
{
    private const string Consumer = "entry-reader-test";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
    private readonly ConcurrentDictionary<string, byte> _owned = new();
    private readonly ConcurrentQueue<string> _ran = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task _loops = Task.CompletedTask;
    private EntryReader? _reader;

    [TearDown]
    public async Task StopLoops()
    {
        _stopping.Cancel();
        await _loops;
        if (_reader?.Reader is { } connection)
        {
            await connection.DisposeAsync();
        }
    }

    /// <summary>A reader with <c>VisibilityTimeout</c> 3 s and <c>BlockTime</c> 200 ms (both Redis's, in real time) and <c>ClaimInterval</c> 1 s (the fake clock's).</summary>
    private void StartReader()
    {
        var settings = JobTypeSettings.Resolve("noop", new JobTypeOptions
        {
            Stream = Stream,
            Concurrency = 4,
            VisibilityTimeout = TimeSpan.FromSeconds(3),
            BlockTime = TimeSpan.FromMilliseconds(200),
            ClaimInterval = TimeSpan.FromSeconds(1),
        });
        var client = new JobStreamClient(Infrastructure.Redis, settings, Consumer);
        var credits = new CreditGate(settings.Concurrency + settings.BatchSize);
        var prefetch = new PrefetchSizer(settings.Prefetch, settings.Concurrency, settings.BatchSize);
        var acker = new Acker(ids => client.AckAsync(ids), _owned, "noop", _time, NullLogger.Instance);
        var dispatcher = new JobDispatcher(
            settings,
            (delivery, _) =>
            {
                _ran.Enqueue(delivery.Id);
                return new ValueTask<JobOutcome>(new JobOutcome(OutcomeKind.Succeeded));
            },
            (_, _, _) => new ValueTask<DeliveryOutcome>(DeliveryOutcome.Ack),
            acker, credits, _owned, prefetch, sharedSlots: null, _time, NullLogger.Instance);
        var reader = _reader = new EntryReader(
            client, _ => null,
            () => StreamReaders.ConnectAsync(TestEnvironment.Redis, Infrastructure.Redis, Stream, $"{Consumer}:reader", settings.BlockTime),
            _owned, dispatcher, acker, credits, limiter: null, prefetch, TestMetrics.Create(), _time, NullLogger.Instance);
        var slots = dispatcher.RunAsync(_stopping.Token, CancellationToken.None);
        _loops = Task.WhenAll(reader.RunAsync(_stopping.Token), slots, acker.RunAsync(slots, CancellationToken.None));
    }

    private async Task<string[]> AddAsync(int count)
    {
        var ids = new string[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = (await Db.StreamAddAsync(Stream, [new NameValueEntry("type", "noop"), new NameValueEntry("payload", "{}")])).ToString();
        }

        return ids;
    }

    /// <summary>
    /// Appends entries and reads them as a consumer that then "dies", in one script: the parked reader, served only after
    /// the script, finds nothing new.
    /// </summary>
    private async Task<string[]> AddAndReadAsGhostAsync(int count)
    {
        var read = (RedisResult[])(await Db.ScriptEvaluateAsync(
            """
            for i = 1, tonumber(ARGV[1]) do
              redis.call('XADD', KEYS[1], '*', 'type', 'noop', 'payload', '{}')
            end
            local reply = redis.call('XREADGROUP', 'GROUP', 'workers', 'ghost', 'COUNT', ARGV[1], 'STREAMS', KEYS[1], '>')
            local ids = {}
            for _, entry in ipairs(reply[1][2]) do
              ids[#ids + 1] = entry[1]
            end
            return ids
            """,
            [Stream], [count]))!;
        Assert.That(read, Has.Length.EqualTo(count), "the ghost read what was appended");
        return [.. read.Select(r => (string)r!)];
    }

    [Test]
    public async Task NewEntries_AreReadRunAndAcked()
    {
        StartReader();

        var ids = await AddAsync(3);

        await Eventually.TrueAsync(() => Task.FromResult(_ran.Count == 3), "the three entries to run");
        Assert.That(_ran, Is.EquivalentTo(ids));
        await Eventually.GetAsync(PendingAsync, pending => pending == 0, "their acks");
        // Redis has the acks before the read or the acker that carried them returns and lets the entries go.
        await Eventually.TrueAsync(() => Task.FromResult(_owned.IsEmpty), "the acked entries to leave the held set");
    }

    [Test]
    public async Task DeadConsumersEntries_WaitForTheLookTheClockMakesDue_ThenRunHere()
    {
        StartReader();
        // Parked: its first turn, and the look for abandoned entries that comes first, are over; the next look is due
        // when the fake clock says.
        await Eventually.TrueAsync(() => ReaderParkedAsync(Consumer), "the reader to park");
        var abandoned = (await AddAndReadAsGhostAsync(2)).ToHashSet();
        await Eventually.GetAsync(
            async () => (await Db.StreamPendingMessagesAsync(Stream, "workers", 10, "ghost")).Min(p => p.IdleTimeInMilliseconds),
            idle => idle >= 3_100, "the ghost's entries to pass the visibility timeout", TimeSpan.FromSeconds(30));
        var fresh = await AddAsync(1);
        await Eventually.TrueAsync(() => Task.FromResult(_ran.Contains(fresh[0])), "the new entry to run");

        Assert.That(_ran, Has.None.AnyOf(abandoned.ToArray()), "reclaimed before the fake clock made the look due");

        _time.Advance(TimeSpan.FromSeconds(1));

        await Eventually.TrueAsync(() => Task.FromResult(abandoned.IsSubsetOf(_ran)), "the abandoned entries to run here");
        await Eventually.GetAsync(PendingAsync, pending => pending == 0, "every ack");
    }
}
