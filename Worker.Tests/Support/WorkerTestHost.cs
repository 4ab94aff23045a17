using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Worker.Hosting;
using Worker.Streams;

namespace Worker.Tests.Support;

/// <summary>The real worker host, in this process, against the real servers, on a stream of the test's own.</summary>
internal sealed class WorkerTestHost : IAsyncDisposable
{
    private static readonly TimeSpan StopLimit = TimeSpan.FromSeconds(30);

    private WorkerTestHost(IHost host) => Host = host;

    public IHost Host { get; }

    public JobQueue Queue => Host.Services.GetRequiredService<JobQueue>();

    /// <summary>A fresh stream key with a hash tag, so tests never share keys.</summary>
    public static string NewStream() => $"test:{{{Guid.NewGuid():N}}}";

    /// <summary>Every key the worker derives from a stream (<see cref="Worker.Jobs.JobTypeSettings"/>), for a test's clean-up.</summary>
    public static StackExchange.Redis.RedisKey[] KeysOf(string stream) =>
        [
            .. new[] { stream, stream + ":high", stream + ":low" }.SelectMany(lane => new StackExchange.Redis.RedisKey[]
            {
                lane, lane + ":dlq", lane + ":delayed", lane + ":starts", lane + ":prune-lock", lane + ":consumers-alive", lane + ":schedules",
            }),
            stream + ":cancelled", stream + ":rate",
        ];

    /// <summary>The configuration a test starts from: noop on, on <paramref name="stream"/>, quiet logs.</summary>
    public static Dictionary<string, string?> NoopSettings(string stream) => new()
    {
        ["Worker:Jobs:noop:Enabled"] = "true",
        ["Worker:Jobs:noop:Stream"] = stream,
        ["Worker:Http:Port"] = "0",
        ["Worker:Jobs:link-metadata:Enabled"] = "false",
        ["Worker:Events:SucceededChannel"] = $"{stream}:events:succeeded",
        ["Worker:Events:FailedChannel"] = $"{stream}:events:failed",
        ["Worker:Events:DeadLetteredChannel"] = $"{stream}:events:dead_lettered",
        ["Worker:Events:CancelledChannel"] = $"{stream}:events:cancelled",
    };

    public static async Task<WorkerTestHost> StartAsync(
        IDictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    {
        var merged = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = TestEnvironment.Redis,
            ["ConnectionStrings:Postgres"] = TestEnvironment.Postgres,
            ["Serilog:MinimumLevel:Default"] = "Warning",
            ["Serilog:MinimumLevel:Override:Microsoft.Hosting.Lifetime"] = "Warning",
        };
        foreach (var (key, value) in settings)
        {
            merged[key] = value;
        }

        var builder = WorkerHost.CreateBuilder(consumers: true, merged);
        services?.Invoke(builder.Services);
        var host = builder.Build();
        await host.StartAsync();
        return new WorkerTestHost(host);
    }

    public async Task<TimeSpan> StopAsync()
    {
        var watch = Stopwatch.StartNew();
        using var limit = new CancellationTokenSource(StopLimit);
        await Host.StopAsync(limit.Token);
        return watch.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Host.Dispose();
    }
}
