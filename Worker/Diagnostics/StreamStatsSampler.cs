using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Worker.Hosting;
using Worker.Streams;

namespace Worker.Diagnostics;

/// <summary>
/// Reads each consumed stream's state from Redis every <see cref="HttpOptions.StatsInterval"/> for the gauges and the
/// readiness check, so a scrape or a probe never waits on Redis.
/// </summary>
internal sealed class StreamStatsSampler : BackgroundService
{
    private readonly ConsumerPoolService _pool;
    private readonly IConnectionMultiplexer _redis;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly ConcurrentDictionary<string, StreamStats> _latest = new(StringComparer.Ordinal);

    public StreamStatsSampler(ConsumerPoolService pool, IConnectionMultiplexer redis, TimeProvider time, IOptions<HttpOptions> options)
    {
        (_pool, _redis, _time, _interval) = (pool, redis, time, options.Value.StatsInterval);
        WorkerMetrics.Meter.CreateObservableGauge("worker.stream.lag", () => Measure(s => s.Lag ?? 0), description: "Entries not yet delivered to the group");
        WorkerMetrics.Meter.CreateObservableGauge("worker.stream.pending", () => Measure(s => s.Pending), description: "Entries delivered and not yet acked");
        WorkerMetrics.Meter.CreateObservableGauge(
            "worker.stream.oldest_pending_age", () => Measure(s => (s.OldestPendingAgeMs ?? 0) / 1000.0), unit: "s", description: "Age of the oldest pending entry");
        WorkerMetrics.Meter.CreateObservableGauge(
            "worker.jobs.in_flight",
            () => _pool.Consumers.Select(c => new Measurement<long>(c.OwnedCount, new KeyValuePair<string, object?>("job_type", c.Settings.JobType))),
            description: "Entries held by this replica: running, queued for a slot or awaiting their ack");
    }

    public StreamStats? Latest(string jobType) => _latest.GetValueOrDefault(jobType);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            foreach (var consumer in _pool.Consumers)
            {
                try
                {
                    var stats = await StreamStats.ReadAsync(_redis.GetDatabase(), consumer.Settings, _time.GetUtcNow()).WaitAsync(_interval, stoppingToken);
                    _latest[consumer.Settings.JobType] = stats;
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    // Redis is away: the gauges keep their last values and readiness reports Redis itself.
                }
            }

            try
            {
                await Task.Delay(_interval, _time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private IEnumerable<Measurement<T>> Measure<T>(Func<StreamStats, T> value)
        where T : struct =>
        _latest.Values.Select(s => new Measurement<T>(value(s), new KeyValuePair<string, object?>("job_type", s.JobType)));
}
