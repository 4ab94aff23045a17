using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace Worker.Hosting;

/// <summary>The checks behind the health endpoints, each tagged with the endpoint it serves.</summary>
internal static class HealthChecks
{
    public const string Live = "live";
    public const string Ready = "ready";

    /// <summary>Longest a probe of Redis or PostgreSQL waits for its answer.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Where an unhealthy result keeps its reasons, one line each.</summary>
    public const string ReasonsKey = "reasons";

    public static HealthCheckResult FromReasons(List<string> reasons) =>
        reasons.Count == 0
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy(string.Join("; ", reasons), data: new Dictionary<string, object> { [ReasonsKey] = reasons });
}

/// <summary>Every consumer loop has beaten within the liveness timeout: a dead or wedged loop fails it.</summary>
internal sealed class ConsumerLoopsHealthCheck(ConsumerPoolService pool, IOptions<HttpOptions> options, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var reasons = pool.Consumers
            .Where(c => !c.IsStopping && now - c.LastBeat > options.Value.LivenessTimeout)
            .Select(c => $"{c.Settings.JobType}: no loop beat for {(now - c.LastBeat).TotalSeconds:0} s")
            .ToList();
        return Task.FromResult(HealthChecks.FromReasons(reasons));
    }
}

/// <summary>Redis answers a <c>PING</c> within the probe timeout.</summary>
internal sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await redis.GetDatabase().PingAsync().WaitAsync(HealthChecks.ProbeTimeout, cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return HealthChecks.FromReasons([$"redis: {e.GetType().Name}"]);
        }
    }
}

/// <summary>PostgreSQL answers <c>SELECT 1</c> within the probe timeout.</summary>
internal sealed class PostgresHealthCheck(NpgsqlDataSource postgres) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cancel.CancelAfter(HealthChecks.ProbeTimeout);
            await using var command = postgres.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancel.Token);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return HealthChecks.FromReasons([$"postgres: {e.GetType().Name}"]);
        }
    }
}

/// <summary>
/// No job type has lag while nothing finished for <see cref="HttpOptions.StuckAfter"/>: stuck, not merely idle. The
/// lag is the stats sampler's last reading, so a probe never waits on Redis for it.
/// </summary>
internal sealed class ProgressHealthCheck(ConsumerPoolService pool, StreamStatsSampler stats, IOptions<HttpOptions> options, TimeProvider time)
    : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var reasons = new List<string>();
        foreach (var consumer in pool.Consumers)
        {
            if (stats.Latest(consumer.Settings.StreamKey) is { Lag: > 0 } s && now - consumer.LastProgress > options.Value.StuckAfter)
            {
                reasons.Add($"{consumer.Settings.JobType}: lag {s.Lag} and no job finished for {(now - consumer.LastProgress).TotalSeconds:0} s");
            }
        }

        return Task.FromResult(HealthChecks.FromReasons(reasons));
    }
}
