using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.Registry;
using StackExchange.Redis;
using Worker.Configuration;
using Worker.Diagnostics;
using Worker.Events;
using Worker.Hosting;
using Worker.Jobs;
using Worker.Persistence;
using Worker.Streams;

namespace Worker.Hosting;

/// <summary>Starts one <see cref="JobConsumer"/> per enabled job type and partition, and drains them all on stop.</summary>
internal sealed partial class ConsumerPoolService(
    IEnumerable<IJobHandler> handlers,
    IOptions<WorkerOptions> options,
    JobTypeCatalog jobTypes,
    IOptions<ConnectionOptions> connections,
    IConnectionMultiplexer redis,
    ReplicatedWrites replicated,
    IServiceProvider services,
    IServiceScopeFactory scopes,
    JobEventPublisher events,
    LastChanceGate gate,
    WorkerMetrics metrics,
    ResiliencePipelineProvider<string> pipelines,
    TimeProvider time,
    ILoggerFactory loggers) : IHostedService
{
    // Published whole once built: retention, health and the stats sampler read it from their own loops, which may
    // already run while this service starts.
    private volatile JobConsumer[] _consumers = [];
    private readonly List<CancelWatch> _cancelWatches = [];
    private readonly ILogger _logger = loggers.CreateLogger<ConsumerPoolService>();

    // Resolved by the first job that keeps state: its writer loops start then, not in a worker that keeps none.
    private readonly Lazy<JobStateBatcher> _batcher = new(services.GetRequiredService<JobStateBatcher>);

    public IReadOnlyList<JobConsumer> Consumers => _consumers;

    /// <summary>Longest wait at start for a reader's connection and group: after it, the reader keeps trying in its loop.</summary>
    private static readonly TimeSpan PrepareLimit = TimeSpan.FromSeconds(2);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var worker = options.Value;
        var prefix = string.IsNullOrWhiteSpace(worker.ConsumerName) ? Environment.MachineName : worker.ConsumerName;
        var pid = Environment.ProcessId;
        var index = 0;
        var consumers = new List<JobConsumer>();
        foreach (var handler in handlers.OrderBy(h => h.JobType, StringComparer.Ordinal))
        {
            if (!jobTypes.IsEnabled(handler))
            {
                continue;
            }

            var resolved = jobTypes.Resolve(handler.JobType);
            // The streams of a type (partitions, lanes) share its Concurrency: a replica runs that many of its jobs at
            // once, from any, higher lanes first.
            var streams = resolved.AllStreams();
            var sharedSlots = streams.Count > 1 ? new PrioritySlots(resolved.Concurrency) : null;
            // One watch of the type's cancelled jobs for all its streams.
            var cancels = new CancelWatch(redis, resolved, time, loggers.CreateLogger<CancelWatch>());
            _cancelWatches.Add(cancels);
            foreach (var settings in streams)
            {
                var consumerName = $"{prefix}-{pid}-{index++}";
                var stream = new JobStreamClient(redis, settings, consumerName, replicated);
                var logger = loggers.CreateLogger($"Worker.Jobs.{handler.JobType}");
                var executor = new JobExecutor(
                    scopes, _batcher, handler, settings, consumerName, stream, gate, pipelines.GetPipeline(handler.JobType), metrics, time, logger, cancels);
                var consumer = new JobConsumer(
                    stream,
                    executor,
                    new EntryFate(stream, scopes, _batcher, events, metrics, time, logger),
                    () => StreamReaders.ConnectAsync(connections.Value.Redis!, redis, settings.StreamKey, $"{consumerName}:reader", settings.BlockTime),
                    metrics,
                    time,
                    loggers.CreateLogger<JobConsumer>(),
                    sharedSlots);
                consumers.Add(consumer);
            }
        }

        _consumers = [.. consumers];
        if (consumers.Count > 0 && StreamReaders.SocketUnsupported(connections.Value.Redis!) is { } reason)
        {
            LogMultiplexerReaders(_logger, reason);
        }

        // Readers connect side by side, and the cancelled jobs are known, then every consumer starts: the host is up
        // when its readers are.
        await Task.WhenAll(_consumers.Select(c => c.PrepareAsync(PrepareLimit))
            .Concat(_cancelWatches.Select(w => w.StartAsync().WaitAsync(PrepareLimit).ContinueWith(_ => { }, TaskScheduler.Default))))
            .WaitAsync(cancellationToken);
        foreach (var consumer in _consumers)
        {
            consumer.Start();
        }

        if (_consumers.Length == 0)
        {
            LogNoJobTypes(_logger);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var drain = options.Value.DrainTimeout;
        var watch = Stopwatch.StartNew();
        foreach (var consumer in _consumers)
        {
            consumer.BeginStop(drain);
        }

        await StreamReaders.UnblockAllAsync(
            connections.Value.Redis!, _consumers.Select(c => c.Reader).OfType<IStreamReader>());
        await Task.WhenAll(_consumers.Select(c => c.StopAsync(drain)));
        foreach (var cancelWatch in _cancelWatches)
        {
            await cancelWatch.DisposeAsync();
        }

        LogDrained(_logger, _consumers.Length, watch.Elapsed.TotalMilliseconds);
    }

    [LoggerMessage(EventId = 1101, EventName = "NoJobTypesEnabled", Level = LogLevel.Warning,
        Message = "No job type is enabled: set Worker:Jobs:<type>:Enabled to true")]
    private static partial void LogNoJobTypes(ILogger logger);

    [LoggerMessage(EventId = 1103, EventName = "MultiplexerReaders", Level = LogLevel.Information,
        Message = "Stream readers go through StackExchange.Redis, not a socket of their own, because of {Reason}: pickups take longer")]
    private static partial void LogMultiplexerReaders(ILogger logger, string reason);

    [LoggerMessage(EventId = 1102, EventName = "PoolDrained", Level = LogLevel.Information,
        Message = "Drained {Count} consumers in {ElapsedMs:0} ms")]
    private static partial void LogDrained(ILogger logger, int count, double elapsedMs);
}
