using Worker.Jobs;

namespace Worker.Tests.Unit.Engine;

[TestFixture]
public sealed class BackoffTests
{
    private static readonly RetryOptions NoJitter = new() { Jitter = false };

    [TestCase(1, 1000)]
    [TestCase(2, 2000)]
    [TestCase(3, 4000)]
    [TestCase(5, 16000)]
    [TestCase(6, 30000)]
    [TestCase(40, 30000)]
    public void Delay_DefaultsWithoutJitter_DoublesFromOneSecondUpToTheCap(int failedAttempt, int expectedMs)
    {
        Assert.That(Backoff.Delay(NoJitter, failedAttempt, new Random(1)), Is.EqualTo(TimeSpan.FromMilliseconds(expectedMs)));
    }

    [Test]
    public void Delay_WithJitter_StaysBetweenHalfAndAllOfTheDelay()
    {
        var options = new RetryOptions();
        var random = new Random(42);
        var delays = Enumerable.Range(0, 500).Select(_ => Backoff.Delay(options, 3, random)).ToList();

        Assert.That(delays, Has.All.InRange(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)));
        Assert.That(delays.Distinct().Count(), Is.GreaterThan(400), "jitter spreads the retries");
    }

    [Test]
    public void Delay_CustomFactor_GrowsByThatFactor()
    {
        var options = new RetryOptions { Jitter = false, BaseDelay = TimeSpan.FromMilliseconds(100), Factor = 3 };

        Assert.That(Backoff.Delay(options, 3, new Random(1)), Is.EqualTo(TimeSpan.FromMilliseconds(900)));
    }
}
