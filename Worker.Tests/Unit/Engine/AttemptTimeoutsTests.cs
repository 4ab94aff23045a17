using Microsoft.Extensions.Time.Testing;
using Worker.Jobs;

namespace Worker.Tests.Unit.Engine;

[TestFixture]
public sealed class AttemptTimeoutsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Test]
    public void Rent_DeadlinePassed_CancelledAtTheNextScanAndReportedAsTimeout()
    {
        var clock = new FakeTimeProvider();
        using var stop = new CancellationTokenSource();
        var timeouts = new AttemptTimeouts(clock, Timeout, stop.Token);

        var lease = timeouts.Rent(Timeout, "job");
        clock.Advance(Timeout - TimeSpan.FromMilliseconds(1));
        Assert.That(lease.Token.IsCancellationRequested, Is.False, "cancelled before its deadline");

        clock.Advance(timeouts.Resolution + TimeSpan.FromMilliseconds(1));
        Assert.Multiple(() =>
        {
            Assert.That(lease.Token.IsCancellationRequested, Is.True);
            Assert.That(lease.TimedOut, Is.True);
        });
    }

    [Test]
    public void Release_InTime_SourceIsReusedAndNotCancelledByTheOldDeadline()
    {
        var clock = new FakeTimeProvider();
        using var stop = new CancellationTokenSource();
        var timeouts = new AttemptTimeouts(clock, Timeout, stop.Token);

        var first = timeouts.Rent(Timeout, "job");
        first.Release();
        clock.Advance(Timeout * 2);
        var second = timeouts.Rent(Timeout, "job");

        Assert.Multiple(() =>
        {
            Assert.That(second, Is.SameAs(first), "an uncancelled source goes back to the pool");
            Assert.That(second.Token.IsCancellationRequested, Is.False);
        });
    }

    [Test]
    public void Release_AfterTimeout_SourceIsNotHandedOutAgain()
    {
        var clock = new FakeTimeProvider();
        using var stop = new CancellationTokenSource();
        var timeouts = new AttemptTimeouts(clock, Timeout, stop.Token);

        var late = timeouts.Rent(Timeout, "job");
        clock.Advance(Timeout + timeouts.Resolution * 2);
        late.Release();
        var next = timeouts.Rent(Timeout, "job");

        Assert.Multiple(() =>
        {
            Assert.That(next, Is.Not.SameAs(late));
            Assert.That(next.Token.IsCancellationRequested, Is.False);
        });
    }

    [Test]
    public void HardStop_CancelsRentedSourcesAndIsNotATimeout()
    {
        var clock = new FakeTimeProvider();
        using var stop = new CancellationTokenSource();
        var timeouts = new AttemptTimeouts(clock, Timeout, stop.Token);
        var lease = timeouts.Rent(Timeout, "job");

        stop.Cancel();

        Assert.Multiple(() =>
        {
            Assert.That(lease.Token.IsCancellationRequested, Is.True);
            Assert.That(lease.TimedOut, Is.False);
        });
    }

    [TestCase(50, 5)]
    [TestCase(5_000, 500)]
    [TestCase(30_000, 1_000)]
    [TestCase(5, 1)]
    public void Resolution_IsATenthOfTheTimeoutBetweenOneMillisecondAndOneSecond(int timeoutMs, int expectedMs)
    {
        using var stop = new CancellationTokenSource();
        var timeouts = new AttemptTimeouts(new FakeTimeProvider(), TimeSpan.FromMilliseconds(timeoutMs), stop.Token);

        Assert.That(timeouts.Resolution, Is.EqualTo(TimeSpan.FromMilliseconds(expectedMs)));
    }
}
