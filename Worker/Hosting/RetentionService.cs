using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;
using Worker.Streams;

namespace Worker.Hosting;

/// <summary>
/// Removes what is finished and old: dead letters past <see cref="RetentionOptions.DeadLetters"/> and <c>jobs</c>
/// rows finished past <see cref="RetentionOptions.FinishedJobs"/>. Job streams themselves are trimmed by their
/// consumers, below what every group acknowledged. Every replica may run this: the deletes are idempotent.
/// </summary>
internal sealed partial class RetentionService(
    IOptions<RetentionOptions> options,
    ConsumerPoolService pool,
    IConnectionMultiplexer redis,
    NpgsqlDataSource postgres,
    TimeProvider time,
    ILogger<RetentionService> logger) : BackgroundService
{
    private const int DeleteBatch = 5000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is RedisException or NpgsqlException or TimeoutException)
            {
                LogRetentionFailed(logger, e);
            }

            try
            {
                await Task.Delay(settings.Interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    public async Task RunOnceAsync(CancellationToken ct)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        if (settings.DeadLetters > TimeSpan.Zero)
        {
            var floor = $"{(now - settings.DeadLetters).ToUnixTimeMilliseconds()}-0";
            foreach (var consumer in pool.Consumers)
            {
                var removed = (long)await redis.GetDatabase()
                    .ExecuteAsync("XTRIM", (RedisKey)consumer.Settings.DeadLetterKey, "MINID", floor).WaitAsync(ct);
                if (removed > 0)
                {
                    LogDeadLettersRemoved(logger, removed, consumer.Settings.DeadLetterKey);
                }
            }
        }

        if (settings.FinishedJobs > TimeSpan.Zero)
        {
            var before = now - settings.FinishedJobs;
            long removed;
            do
            {
                await using var command = postgres.CreateCommand("""
                    DELETE FROM jobs WHERE ctid IN (
                        SELECT ctid FROM jobs WHERE created_at < $1 AND finished_at < $1 AND status IN ('succeeded', 'dead_lettered', 'cancelled') LIMIT $2)
                    """);
                command.Parameters.Add(new NpgsqlParameter { Value = before });
                command.Parameters.Add(new NpgsqlParameter { Value = DeleteBatch });
                removed = await command.ExecuteNonQueryAsync(ct);
                if (removed > 0)
                {
                    LogJobsRemoved(logger, removed);
                }
            }
            while (removed == DeleteBatch && !ct.IsCancellationRequested);
        }
    }

    [LoggerMessage(EventId = 3101, EventName = "DeadLettersRemoved", Level = LogLevel.Information,
        Message = "Removed {Count} dead letters past retention from {StreamKey}")]
    private static partial void LogDeadLettersRemoved(ILogger logger, long count, string streamKey);

    [LoggerMessage(EventId = 3102, EventName = "FinishedJobsRemoved", Level = LogLevel.Information,
        Message = "Removed {Count} finished jobs rows past retention")]
    private static partial void LogJobsRemoved(ILogger logger, long count);

    [LoggerMessage(EventId = 3103, EventName = "RetentionFailed", Level = LogLevel.Warning, Message = "Retention failed; trying again later")]
    private static partial void LogRetentionFailed(ILogger logger, Exception error);
}
