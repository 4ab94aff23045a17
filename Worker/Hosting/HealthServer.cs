using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;
using Worker.Diagnostics;
using Worker.Streams;

namespace Worker.Hosting;

/// <summary>
/// <c>/health/live</c>: every consumer loop has beaten within the liveness timeout (a dead or wedged loop fails it).
/// <c>/health/ready</c>: Redis and PostgreSQL answer, and no job type has lag while nothing finished for
/// <see cref="HttpOptions.StuckAfter"/> (stuck, not merely idle). 200 or 503, with a JSON body saying why.
/// </summary>
internal sealed partial class HealthServer(
    IOptions<HttpOptions> options,
    ConsumerPoolService pool,
    StreamStatsSampler stats,
    IConnectionMultiplexer redis,
    NpgsqlDataSource postgres,
    TimeProvider time,
    ILogger<HealthServer> logger) : BackgroundService
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);
    private readonly HttpListener _listener = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        _listener.Prefixes.Add($"{settings.Prefix}health/");
        try
        {
            _listener.Start();
        }
        catch (HttpListenerException e)
        {
            LogListenFailed(logger, e, settings.Prefix);
            return;
        }

        LogListening(logger, settings.Prefix);
        using var registration = stoppingToken.Register(() => _listener.Stop());
        while (!stoppingToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                break;
            }

            _ = Task.Run(() => AnswerAsync(context), CancellationToken.None);
        }
    }

    public override void Dispose()
    {
        _listener.Close();
        base.Dispose();
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        try
        {
            var path = context.Request.Url?.AbsolutePath.TrimEnd('/');
            var (ok, reasons) = path switch
            {
                "/health/live" => Live(),
                "/health/ready" => await ReadyAsync(),
                _ => (false, new List<string> { "not found" }),
            };
            context.Response.StatusCode = path is "/health/live" or "/health/ready" ? (ok ? 200 : 503) : 404;
            context.Response.ContentType = "application/json";
            var body = JsonSerializer.SerializeToUtf8Bytes(
                new HealthReport(ok ? "ok" : "failing", reasons), HealthJsonContext.Default.HealthReport);
            await context.Response.OutputStream.WriteAsync(body);
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            try
            {
                context.Response.Close();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private (bool, List<string>) Live()
    {
        var now = time.GetUtcNow();
        var reasons = pool.Consumers
            .Where(c => !c.IsStopping && now - c.LastBeat > options.Value.LivenessTimeout)
            .Select(c => $"{c.Settings.JobType}: no loop beat for {(now - c.LastBeat).TotalSeconds:0} s")
            .ToList();
        return (reasons.Count == 0, reasons);
    }

    private async Task<(bool, List<string>)> ReadyAsync()
    {
        var reasons = new List<string>();
        try
        {
            await redis.GetDatabase().PingAsync().WaitAsync(ProbeTimeout);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            reasons.Add($"redis: {e.GetType().Name}");
        }

        try
        {
            using var cancel = new CancellationTokenSource(ProbeTimeout);
            await using var command = postgres.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancel.Token);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            reasons.Add($"postgres: {e.GetType().Name}");
        }

        var now = time.GetUtcNow();
        foreach (var consumer in pool.Consumers)
        {
            if (stats.Latest(consumer.Settings.StreamKey) is { Lag: > 0 } s && now - consumer.LastProgress > options.Value.StuckAfter)
            {
                reasons.Add($"{consumer.Settings.JobType}: lag {s.Lag} and no job finished for {(now - consumer.LastProgress).TotalSeconds:0} s");
            }
        }

        return (reasons.Count == 0, reasons);
    }

    [LoggerMessage(EventId = 3001, EventName = "HealthListening", Level = LogLevel.Information, Message = "Health and metrics on {Prefix}")]
    private static partial void LogListening(ILogger logger, string prefix);

    [LoggerMessage(EventId = 3002, EventName = "HealthListenFailed", Level = LogLevel.Error,
        Message = "Could not listen on {Prefix}; health endpoints are off (set Worker:Http:Port)")]
    private static partial void LogListenFailed(ILogger logger, Exception error, string prefix);
}
