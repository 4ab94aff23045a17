using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using Worker.Hosting;
using Worker.Jobs;
using Worker.Jobs.Noop;
using Worker.Scheduling;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>
/// Recurring schedules against the real Redis: two replicas looking at the same times enqueue each occurrence once,
/// downtime enqueues only the latest missed occurrence, and the worker runs them. Times are given, not waited for.
/// </summary>
[TestFixture]
public sealed class ScheduleServiceTests : EngineTestBase
{
    private static readonly DateTimeOffset Start = new(2026, 12, 4, 10, 0, 2, TimeSpan.Zero);

    private ScheduleService Replica(string cron = "*/5 * * * * *", string payload = "{}")
    {
        var worker = new WorkerOptions
        {
            Jobs = { ["noop"] = new JobTypeOptions { Stream = Stream } },
            Schedules = { ["tick"] = new ScheduleOptions { Type = "noop", Cron = cron, Payload = payload } },
        };
        return new ScheduleService(
            Infrastructure.Redis, new JobTypeCatalog(worker.Jobs), worker.Schedules, [new NoopHandler(TimeProvider.System)], TestMetrics.Create(), new FakeTimeProvider(Start),
            NullLogger<ScheduleService>.Instance);
    }

    private async Task<string[]> JobIdsAsync() => [.. (await Db.StreamRangeAsync(Stream)).Select(e => Field(e, "job_id")!)];

    private static string IdAt(int secondsAfterStart) => $"schedule:tick:{Start.AddSeconds(secondsAfterStart).ToUnixTimeMilliseconds()}";

    [Test]
    public async Task LookAsync_TwoReplicasOverThirtySeconds_EachOccurrenceEnqueuedOnce()
    {
        var (first, second) = (Replica(), Replica());

        for (var second_ = 0; second_ <= 30; second_++)
        {
            var now = Start.AddSeconds(second_);
            await first.LookAsync(now);
            await second.LookAsync(now);
        }

        // Occurrences at :05, :10, ... :30, that is 3, 8, ... 28 s after the start.
        Assert.That(await JobIdsAsync(), Is.EqualTo(new[] { 3, 8, 13, 18, 23, 28 }.Select(IdAt)));
        Assert.That(first.Tried + second.Tried, Is.EqualTo(12), "both tried every occurrence; one of each pair found it done");
    }

    [Test]
    public async Task LookAsync_NeverEnqueuedBefore_StartsWithTheNextOccurrence()
    {
        var replica = Replica();

        var wake = await replica.LookAsync(Start);

        Assert.Multiple(async () =>
        {
            Assert.That(await JobIdsAsync(), Is.Empty, "no occurrence before the first look is made up");
            Assert.That(wake, Is.EqualTo(Start.AddSeconds(3)));
        });
    }

    [Test]
    public async Task LookAsync_AfterAnHourDown_OnlyTheLatestMissedOccurrence()
    {
        var before = Replica();
        await before.LookAsync(Start);
        await before.LookAsync(Start.AddSeconds(3));

        // Every replica was down for an hour; a fresh one looks.
        var later = Start.AddHours(1).AddSeconds(1);
        await Replica().LookAsync(later);

        Assert.That(await JobIdsAsync(), Is.EqualTo(new[] { IdAt(3), IdAt(3598) }), "10:00:05, then 11:00:00 only");
    }

    [Test]
    public async Task Run_EverySecondOnTwoHosts_OccurrencesRunOnceEachWithOneEffect()
    {
        var settings = Settings(
            ("Worker:Schedules:tick:Type", "noop"), ("Worker:Schedules:tick:Cron", "* * * * * *"),
            ("Worker:Schedules:tick:Payload", """{"effect":true}"""));
        await using (var first = await WorkerTestHost.StartAsync(settings))
        await using (var second = await WorkerTestHost.StartAsync(settings))
        {
            await Eventually.TrueAsync(
                async () => await Infrastructure.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE type = 'noop' AND id LIKE 'schedule:tick:%' AND status = 'succeeded'") >= 3,
                "three occurrences run");
        }

        var ids = await JobIdsAsync();
        var succeeded = await Infrastructure.ScalarAsync<long>(
            "SELECT count(*) FROM jobs WHERE type = 'noop' AND id = ANY($1) AND status = 'succeeded'", new object[] { ids });
        var effects = await Infrastructure.ScalarAsync<long>("SELECT count(*) FROM noop_effects WHERE job_id = ANY($1)", new object[] { ids });
        Assert.Multiple(() =>
        {
            Assert.That(ids, Is.Unique, "one entry per occurrence over the two hosts");
            Assert.That(succeeded, Is.GreaterThanOrEqualTo(3));
            Assert.That(effects, Is.EqualTo(succeeded), "one effect per job that ran");
        });
    }

    [Test]
    public async Task SchedulesVerb_Json_ListsTheScheduleWithItsLastAndNextOccurrence()
    {
        await Db.HashSetAsync(Stream + ":schedules", "tick", Start.ToUnixTimeMilliseconds());
        var settings = Settings(("Worker:Schedules:tick:Type", "noop"), ("Worker:Schedules:tick:Cron", "0 3 * * *"));

        using var verb = WorkerProcess.Start(settings, "schedules", "--json");

        Assert.That(await verb.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(ExitCodes.Ok), verb.StandardError);
        var row = JsonDocument.Parse(verb.StandardOutput).RootElement.EnumerateArray().Single();
        Assert.Multiple(() =>
        {
            Assert.That(row.GetProperty("name").GetString(), Is.EqualTo("tick"));
            Assert.That(row.GetProperty("cron").GetString(), Is.EqualTo("0 3 * * *"));
            Assert.That(DateTimeOffset.Parse(row.GetProperty("last").GetString()!), Is.EqualTo(Start));
            Assert.That(DateTimeOffset.Parse(row.GetProperty("next").GetString()!).UtcDateTime.Hour, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task Run_BadCron_StopsNamingTheKey()
    {
        using var run = WorkerProcess.Start(Settings(("Worker:Schedules:tick:Type", "noop"), ("Worker:Schedules:tick:Cron", "nightly")), "run");

        Assert.That(await run.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(ExitCodes.Configuration));
        Assert.That(run.StandardError + run.StandardOutput, Does.Contain("Worker:Schedules:tick:Cron must be a cron"));
    }
}
