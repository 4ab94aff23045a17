using Worker.Streams;

namespace Worker.Tests.Unit.Engine;

[TestFixture]
public sealed class PrefetchSizerTests
{
    private static readonly TimeSpan Prefetch = TimeSpan.FromMilliseconds(150);

    [Test]
    public void Size_BeforeAnyJobEnded_OneEntryBeyondTheSlots()
    {
        Assert.That(new PrefetchSizer(Prefetch, concurrency: 3, cap: 1000).Size, Is.EqualTo(1));
    }

    [Test]
    public void Size_SlowJobs_HoldsWhatTheSlotsFinishInThePrefetchWindow()
    {
        var sizer = new PrefetchSizer(Prefetch, concurrency: 3, cap: 1000);

        sizer.Record(TimeSpan.FromMilliseconds(100));

        Assert.That(sizer.Size, Is.EqualTo(5), "three slots finish 4.5 jobs in 150 ms");
    }

    [Test]
    public void Size_FastJobs_CappedAtTheBatchSize()
    {
        var sizer = new PrefetchSizer(Prefetch, concurrency: 3, cap: 1000);

        sizer.Record(TimeSpan.FromMicroseconds(20));

        Assert.That(sizer.Size, Is.EqualTo(1000));
    }

    [Test]
    public void Size_JobsLongerThanTheWindow_NeverBelowOne()
    {
        var sizer = new PrefetchSizer(Prefetch, concurrency: 3, cap: 1000);

        sizer.Record(TimeSpan.FromSeconds(30));

        Assert.That(sizer.Size, Is.EqualTo(1));
    }

    [Test]
    public void Record_JobsGetSlower_SizeFollowsTheMovingAverage()
    {
        var sizer = new PrefetchSizer(Prefetch, concurrency: 1, cap: 1000);
        sizer.Record(TimeSpan.FromMilliseconds(1));
        Assert.That(sizer.Size, Is.EqualTo(150));

        for (var i = 0; i < 30; i++)
        {
            sizer.Record(TimeSpan.FromMilliseconds(100));
        }

        Assert.That(sizer.Size, Is.EqualTo(2), "a quarter to each new job: thirty later it reads the new duration");
    }

    [Test]
    public void Record_ColdFirstJobThenFastOnes_ForgottenWithinTenJobs()
    {
        var sizer = new PrefetchSizer(Prefetch, concurrency: 3, cap: 1000);
        sizer.Record(TimeSpan.FromSeconds(1));

        for (var i = 0; i < 10; i++)
        {
            sizer.Record(TimeSpan.FromMilliseconds(100));
        }

        Assert.That(sizer.Size, Is.GreaterThanOrEqualTo(3), "a first job ten times slower than the rest no longer decides");
    }
}
