using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Worker.Diagnostics;
using Worker.Hosting;
using Worker.Streams;

namespace Worker.Hosting;

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

    public StreamStatsSampler(
        ConsumerPoolService pool, IConnectionMultiplexer redis, WorkerMetrics metrics, TimeProvider time, IOptions<HttpOptions> options)
    {
        (_pool, _redis, _time, _interval) = (pool, redis, time, options.Value.StatsInterval);
        metrics.Meter.CreateObservableGauge("worker.stream.lag", () => Measure(s => s.Lag ?? 0), description: "Entries not yet delivered to the group");
        metrics.Meter.CreateObservableGauge("worker.stream.pending", () => Measure(s => s.Pending), description: "Entries delivered and not yet acked");
        metrics.Meter.CreateObservableGauge(
            "worker.stream.oldest_pending_age", () => Measure(s => (s.OldestPendingAgeMs ?? 0) / 1000.0, largest: true), unit: "s", description: "Age of the oldest pending entry");
        metrics.Meter.CreateObservableGauge(
            "worker.jobs.in_flight",
            () => _pool.Consumers.GroupBy(c => c.Settings.JobType).Select(g => new Measurement<long>(
                g.Sum(c => c.OwnedCount), new KeyValuePair<string, object?>("job_type", g.Key))),
            description: "Entries held by this replica: running, queued for a slot or awaiting their ack");
    }

    /// <summary>The last sample of one stream (a job type's, or one of its partitions').</summary>
    public StreamStats? Latest(string streamKey) => _latest.GetValueOrDefault(streamKey);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            foreach (var consumer in _pool.Consumers)
            {
                try
                {
                    var stats = await StreamStats.ReadAsync(_redis.GetDatabase(), consumer.Settings, _time.GetUtcNow()).WaitAsync(_interval, stoppingToken);
                    _latest[consumer.Settings.StreamKey] = stats;
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

    /// <summary>One measurement per job type: its partitions' values summed (the oldest age: their largest).</summary>
    private IEnumerable<Measurement<T>> Measure<T>(Func<StreamStats, T> value, bool largest = false)
        where T : struct, System.Numerics.INumber<T> =>
        _latest.Values.GroupBy(s => s.JobType).Select(g => new Measurement<T>(
            largest ? g.Select(value).Max() : g.Select(value).Aggregate(T.Zero, (sum, v) => sum + v),
            new KeyValuePair<string, object?>("job_type", g.Key)));
}
