using Worker.Admin;

namespace Worker.Tests.Unit.Engine;

/// <summary>The <c>--at</c> and <c>--in</c> of <c>enqueue</c>.</summary>
[TestFixture]
public sealed class StartTimeTests
{
    [TestCase("500ms", 0.5)]
    [TestCase("30s", 30)]
    [TestCase("1.5m", 90)]
    [TestCase("2h", 7200)]
    [TestCase("1d", 86400)]
    [TestCase("00:00:45", 45)]
    public void TryParseIn_Durations_GiveTheirSeconds(string text, double seconds)
    {
        Assert.That(StartTime.TryParseIn(text, out var delay, out _), Is.True);
        Assert.That(delay, Is.EqualTo(TimeSpan.FromSeconds(seconds)));
    }

    [TestCase("soon")]
    [TestCase("30")]
    [TestCase("-5s")]
    [TestCase("5 s")]
    public void TryParseIn_NotADuration_SaysWhatItTakes(string text)
    {
        Assert.That(StartTime.TryParseIn(text, out _, out var problem), Is.False);
        Assert.That(problem, Does.StartWith("--in must be a duration").And.Contain($"'{text}'"));
    }

    [TestCase("2026-12-24T18:00:00Z", 1798135200000)]
    [TestCase("2026-12-24T19:00:00+01:00", 1798135200000)]
    [TestCase("2026-12-24T18:00:00", 1798135200000)]
    [TestCase("1798135200000", 1798135200000)]
    public void TryParseAt_TimesAndUnixMilliseconds_GiveTheInstant(string text, long unixMs)
    {
        Assert.That(StartTime.TryParseAt(text, out var at, out _), Is.True);
        Assert.That(at.ToUnixTimeMilliseconds(), Is.EqualTo(unixMs));
    }

    [Test]
    public void TryParseAt_NotATime_SaysWhatItTakes()
    {
        Assert.That(StartTime.TryParseAt("tomorrow", out _, out var problem), Is.False);
        Assert.That(problem, Does.StartWith("--at must be an ISO 8601 time"));
    }
}
