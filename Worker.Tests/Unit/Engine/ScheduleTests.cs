using Worker.Scheduling;

namespace Worker.Tests.Unit.Engine;

/// <summary>A recurring schedule read from its options, and the occurrences it names.</summary>
[TestFixture]
public sealed class ScheduleTests
{
    private static Schedule? Resolve(ScheduleOptions options, List<string> failures) =>
        Schedule.TryResolve("nightly", options, type => type == "noop", failures);

    [Test]
    public void TryResolve_SixFields_ReadsSecondsAndDefaultsToUtcAndAnEmptyPayload()
    {
        var failures = new List<string>();
        var schedule = Resolve(new ScheduleOptions { Type = "noop", Cron = "*/5 * * * * *" }, failures);

        Assert.That(failures, Is.Empty);
        Assert.Multiple(() =>
        {
            Assert.That(schedule!.Zone, Is.EqualTo(TimeZoneInfo.Utc));
            Assert.That(schedule.Payload, Is.EqualTo("{}"));
            Assert.That(schedule.NextAfter(new DateTimeOffset(2026, 12, 4, 10, 0, 1, TimeSpan.Zero)), Is.EqualTo(new DateTimeOffset(2026, 12, 4, 10, 0, 5, TimeSpan.Zero)));
        });
    }

    [Test]
    public void TryResolve_FiveFieldsInAZone_OccursAtThatZonesTime()
    {
        var schedule = Resolve(new ScheduleOptions { Type = "noop", Cron = "0 3 * * *", TimeZone = "Europe/Berlin" }, []);

        // 03:00 in Berlin in December is 02:00 UTC.
        Assert.That(schedule!.NextAfter(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero)), Is.EqualTo(new DateTimeOffset(2026, 12, 5, 2, 0, 0, TimeSpan.Zero)));
    }

    [Test]
    public void TryResolve_EverythingWrong_OneLinePerProblemEachNamingItsKey()
    {
        var failures = new List<string>();

        var schedule = Resolve(new ScheduleOptions { Type = "mail", Cron = "every night", TimeZone = "Mars/Olympus", Payload = "{nope" }, failures);

        Assert.That(schedule, Is.Null);
        Assert.That(failures, Has.Count.EqualTo(4));
        Assert.Multiple(() =>
        {
            Assert.That(failures[0], Is.EqualTo("Worker:Schedules:nightly:Type must name a job type with a handler (was 'mail')"));
            Assert.That(failures[1], Is.EqualTo("Worker:Schedules:nightly:Cron must be a cron of 5 fields, or 6 with seconds first (was 'every night')"));
            Assert.That(failures[2], Is.EqualTo("Worker:Schedules:nightly:TimeZone is not a known time zone (was 'Mars/Olympus')"));
            Assert.That(failures[3], Does.StartWith("Worker:Schedules:nightly:Payload is not JSON"));
        });
    }

    [Test]
    public void LatestUntil_SeveralMissed_GivesTheLastOneAtOrBeforeTheEnd()
    {
        var schedule = Resolve(new ScheduleOptions { Type = "noop", Cron = "*/5 * * * * *" }, [])!;
        var from = new DateTimeOffset(2026, 12, 4, 10, 0, 5, TimeSpan.Zero);

        Assert.Multiple(() =>
        {
            Assert.That(schedule.LatestUntil(from, from.AddSeconds(23)), Is.EqualTo(from.AddSeconds(20)));
            Assert.That(schedule.LatestUntil(from, from), Is.EqualTo(from));
            Assert.That(schedule.JobId(from), Is.EqualTo($"schedule:nightly:{from.ToUnixTimeMilliseconds()}"));
        });
    }
}
