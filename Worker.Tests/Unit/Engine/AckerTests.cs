using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Unit.Engine;

/// <summary>Who sends a finished entry's ack: the reader's next read, or the acker's own loop while the reader is away.</summary>
[TestFixture]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class AckerTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly ConcurrentDictionary<string, byte> _owned = new();
    private readonly ConcurrentQueue<string[]> _sent = new();
    private readonly TaskCompletionSource _slotsDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _failuresLeft;
    private int _sends;

    private Acker NewAcker() => new(Send, _owned, "noop", _time, NullLogger.Instance);

    private Task Send(RedisValue[] ids)
    {
        Interlocked.Increment(ref _sends);
        if (Interlocked.Decrement(ref _failuresLeft) >= 0)
        {
            throw new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "down", null, CommandStatus.Unknown);
        }

        _sent.Enqueue([.. ids.Select(i => (string)i!)]);
        return Task.CompletedTask;
    }

    private void Own(params string[] ids)
    {
        foreach (var id in ids)
        {
            _owned[id] = 0;
        }
    }

    [Test]
    public async Task Enqueue_WhileTheReaderIsAway_TheLoopSendsItAndTheEntryIsNoLongerHeld()
    {
        var acker = NewAcker();
        Own("1-0", "2-0");
        var loop = acker.RunAsync(_slotsDone.Task, CancellationToken.None);

        acker.Enqueue("1-0");

        await Eventually.TrueAsync(() => Task.FromResult(!_owned.ContainsKey("1-0")), "1-0 acked by the loop");
        Assert.That(_sent.SelectMany(b => b), Is.EqualTo(new[] { "1-0" }));
        Assert.That(_owned.Keys, Is.EqualTo(new[] { "2-0" }));
        _slotsDone.SetResult();
        await loop;
    }

    [Test]
    public async Task Enqueue_WhileTheReaderIsBack_RidesOnTheNextRead()
    {
        var acker = NewAcker();
        Own("1-0");
        var loop = acker.RunAsync(_slotsDone.Task, CancellationToken.None);
        acker.ReaderBack([]);

        acker.Enqueue("1-0");
        var carried = acker.TakeForRead();
        acker.ReaderBack(carried.Span);

        Assert.That(carried.ToArray(), Is.EqualTo(new[] { "1-0" }));
        Assert.That(_owned, Is.Empty);
        _slotsDone.SetResult();
        await loop;
        Assert.That(_sends, Is.Zero, "the loop sent an ack the read carried");
    }

    [Test]
    public async Task Return_AfterAFailedRead_TheLoopSendsThemAgain()
    {
        var acker = NewAcker();
        Own("1-0", "2-0");
        var loop = acker.RunAsync(_slotsDone.Task, CancellationToken.None);
        acker.ReaderBack([]);
        acker.Enqueue("1-0");
        acker.Enqueue("2-0");

        var carried = acker.TakeForRead();
        acker.ReaderAway();
        acker.Return(carried.Span);

        await Eventually.TrueAsync(() => Task.FromResult(_owned.IsEmpty), "both acked by the loop");
        Assert.That(_sent.SelectMany(b => b), Is.EquivalentTo(new[] { "1-0", "2-0" }));
        _slotsDone.SetResult();
        await loop;
    }

    [Test]
    public async Task Send_FailsTwice_IsTriedAgainOnTheClockUntilItSucceeds()
    {
        var acker = NewAcker();
        _failuresLeft = 2;
        Own("1-0");
        var loop = acker.RunAsync(_slotsDone.Task, CancellationToken.None);

        acker.Enqueue("1-0");
        await Eventually.TrueAsync(() => Task.FromResult(Volatile.Read(ref _sends) == 1), "the first send");
        Assert.That(_owned.ContainsKey("1-0"), Is.True, "held while its ack has not gone");

        // 100 ms, then 200 ms: the waits are the fake clock's, advanced until the third send succeeds.
        await Eventually.TrueAsync(() =>
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
            return Task.FromResult(_owned.IsEmpty);
        }, "the ack to succeed on the third send");

        Assert.That(_sends, Is.EqualTo(3));
        Assert.That(_sent.SelectMany(b => b), Is.EqualTo(new[] { "1-0" }));
        _slotsDone.SetResult();
        await loop;
    }

    [Test]
    public async Task SlotsDone_WithAcksLeft_SendsThemBeforeTheLoopEnds()
    {
        var acker = NewAcker();
        Own("1-0", "2-0");
        acker.ReaderBack([]);
        acker.Enqueue("1-0");
        acker.Enqueue("2-0");
        _slotsDone.SetResult();

        await acker.RunAsync(_slotsDone.Task, CancellationToken.None);

        Assert.That(_sent.SelectMany(b => b), Is.EquivalentTo(new[] { "1-0", "2-0" }));
        Assert.That(_owned, Is.Empty);
    }

    [Test]
    public async Task HardStop_WhileRedisIsDown_AbandonsTheAcksAndEnds()
    {
        var acker = NewAcker();
        _failuresLeft = int.MaxValue;
        Own("1-0");
        using var hardStop = new CancellationTokenSource();
        hardStop.Cancel();
        acker.Enqueue("1-0");
        _slotsDone.SetResult();

        await acker.RunAsync(_slotsDone.Task, hardStop.Token);

        Assert.That(_sends, Is.EqualTo(1), "one try, then given up: the effects are committed and a redelivery acks as a duplicate");
        Assert.That(_sent, Is.Empty);
        Assert.That(_owned.Keys, Is.EqualTo(new[] { "1-0" }), "still held, for the stop to hand back");
    }
}
