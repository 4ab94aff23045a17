using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

[TestFixture]
public sealed partial class ObservabilityTests : EngineTestBase
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };


    private Dictionary<string, string?> HttpSettings(int port, params (string, string)[] extra) =>
        Settings([("Worker:Http:Port", port.ToString()), ("Worker:Http:Host", "127.0.0.1"), ("Worker:Http:StatsInterval", "00:00:00.200"), .. extra]);

    /// <summary>The status code, or 0 while nothing listens yet.</summary>
    private static async Task<int> StatusOfAsync(string url)
    {
        try
        {
            using var response = await Http.GetAsync(url);
            return (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    private static async Task<double> SeriesAsync(int port, string name, string labelFragment)
    {
        var text = await Http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        return text.Split('\n')
            .Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.Contains(labelFragment, StringComparison.Ordinal))
            .Select(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture))
            .Sum();
    }

    [Test]
    public async Task Metrics_JobsRun_NamedSeriesMove()
    {
        var port = Ports.Free();
        await using var host = await WorkerTestHost.StartAsync(HttpSettings(port));
        await Eventually.TrueAsync(async () => await StatusOfAsync($"http://127.0.0.1:{port}/metrics") == 200, "/metrics to answer");
        var before = await SeriesAsync(port, "worker_jobs_processed_total", "job_type=\"noop\"");

        var ok = await EnqueueAsync(host, "{}");
        await EnqueueAsync(host, """{"fail":"permanent"}""");
        await WaitForStatusAsync(ok, "succeeded");
        await WaitForDeadLettersAsync(1);

        await Eventually.TrueAsync(async () => await SeriesAsync(port, "worker_jobs_processed_total", "job_type=\"noop\"") >= before + 1, "processed to move");
        await Eventually.TrueAsync(async () => await SeriesAsync(port, "worker_jobs_dead_lettered_total", "reason=\"noop_permanent\"") >= 1, "dead_lettered to move");
        var text = await Http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        foreach (var series in new[] { "worker_jobs_failed_total", "worker_job_duration_seconds_count", "worker_stream_lag", "worker_stream_pending", "worker_stream_oldest_pending_age_seconds", "worker_jobs_in_flight" })
        {
            Assert.That(text, Does.Contain(series + "{"), series);
        }
    }

    [Test]
    public async Task Health_RedisGoesAway_ReadyFailsAndLiveHolds()
    {
        using var redis = new PrivateRedis();
        await redis.StartAsync();
        var port = Ports.Free();
        await using var host = await WorkerTestHost.StartAsync(HttpSettings(port, ("ConnectionStrings:Redis", redis.Configuration + ",abortConnect=false")));
        var live = $"http://127.0.0.1:{port}/health/live";
        var ready = $"http://127.0.0.1:{port}/health/ready";
        await Eventually.TrueAsync(async () => await StatusOfAsync(ready) == 200, "ready");

        redis.Kill();

        var response = await Eventually.GetAsync(() => Http.GetAsync(ready), r => r.StatusCode == HttpStatusCode.ServiceUnavailable, "ready to fail");
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("redis"));
        Assert.That((await Http.GetAsync(live)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "an outage is not a dead loop: no restart");

        await redis.StartAsync();
        await Eventually.TrueAsync(async () => await StatusOfAsync(ready) == 200, "ready again after Redis returns");
    }

    [Test]
    public async Task Health_ALoopStopsBeating_LiveFails()
    {
        // Fake time jumps past the liveness timeout while the reader sits in a 10 s blocking read: the maintenance
        // loop beats at the new time, the parked reader cannot, exactly as a wedged loop would look.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var port = Ports.Free();
        await using var host = await WorkerTestHost.StartAsync(
            HttpSettings(port, ("Worker:Jobs:noop:BlockTime", "00:00:10"), ("Worker:Http:LivenessTimeout", "00:00:30")),
            services => services.AddSingleton<TimeProvider>(clock));
        var live = $"http://127.0.0.1:{port}/health/live";
        await Eventually.TrueAsync(async () => await StatusOfAsync(live) == 200, "live at first");
        await Eventually.TrueAsync(ReaderParkedAsync, "the reader to park its blocking read");

        clock.Advance(TimeSpan.FromSeconds(45));

        using var response = await Http.GetAsync(live);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("noop: no loop beat for"));
    }

    [Test]
    public async Task Health_LagWithNothingFinishing_ReadyReportsStuck()
    {
        var port = Ports.Free();
        await using var host = await WorkerTestHost.StartAsync(HttpSettings(port,
            ("Worker:Http:StuckAfter", "00:00:00.500"), ("Worker:Jobs:noop:Concurrency", "1"), ("Worker:Jobs:noop:BatchSize", "1")));
        var ready = $"http://127.0.0.1:{port}/health/ready";
        await Eventually.TrueAsync(async () => await StatusOfAsync(ready) == 200, "ready while idle");

        for (var i = 0; i < 5; i++)
        {
            await EnqueueAsync(host, """{"delay_ms":4000}""");
        }

        var response = await Eventually.GetAsync(() => Http.GetAsync(ready), r => r.StatusCode == HttpStatusCode.ServiceUnavailable, "ready to report stuck");
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Match("noop: lag \\d+ and no job finished"));
    }
}
