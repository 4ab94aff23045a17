using Microsoft.Extensions.Time.Testing;
using Worker.Streams;

namespace Worker.Tests.Unit.Engine;

[TestFixture]
public sealed class ReclaimScheduleTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan BlockTime = TimeSpan.FromSeconds(2);

    [Test]
    public void IsDue_AtStart_TrueSoTheFirstReadComesAfterALook()
    {
        var schedule = new ReclaimSchedule(Interval, new FakeTimeProvider());

        Assert.That(schedule.IsDue, Is.True);
    }

    [Test]
    public void Looked_EveryCreditClaimed_DueAgainAtOnceBecauseMoreMayWait()
    {
        var time = new FakeTimeProvider();
        var schedule = new ReclaimSchedule(Interval, time);

        schedule.Looked(asked: 5, claimed: 5);

        Assert.That(schedule.IsDue, Is.True);
    }

    [Test]
    public void Looked_FewerThanAsked_DueAfterTheIntervalAndAParkedReadEndsByThen()
    {
        var time = new FakeTimeProvider();
        var schedule = new ReclaimSchedule(Interval, time);

        schedule.Looked(asked: 5, claimed: 2);

        Assert.That(schedule.IsDue, Is.False);
        Assert.That(schedule.BlockFor(BlockTime), Is.EqualTo(Interval), "not the whole block time");
        time.Advance(TimeSpan.FromMilliseconds(600));
        Assert.That(schedule.BlockFor(BlockTime), Is.EqualTo(TimeSpan.FromMilliseconds(400)));
        time.Advance(TimeSpan.FromMilliseconds(400));
        Assert.That(schedule.IsDue, Is.True);
    }

    [Test]
    public void BlockFor_IntervalLongerThanTheBlockTime_BlocksTheBlockTime()
    {
        var time = new FakeTimeProvider();
        var schedule = new ReclaimSchedule(TimeSpan.FromSeconds(10), time);

        schedule.Looked(asked: 5, claimed: 0);

        Assert.That(schedule.BlockFor(BlockTime), Is.EqualTo(BlockTime));
    }

    [Test]
    public void BlockFor_LookDueNow_StillBlocksAMillisecondNotZero()
    {
        var schedule = new ReclaimSchedule(Interval, new FakeTimeProvider());

        Assert.That(schedule.BlockFor(BlockTime), Is.EqualTo(TimeSpan.FromMilliseconds(1)), "zero would be a read that never blocks");
    }

    [Test]
    public void Failed_TriesAgainAfterTheInterval()
    {
        var time = new FakeTimeProvider();
        var schedule = new ReclaimSchedule(Interval, time);

        schedule.Failed();

        Assert.That(schedule.IsDue, Is.False);
        time.Advance(Interval);
        Assert.That(schedule.IsDue, Is.True);
    }
}
