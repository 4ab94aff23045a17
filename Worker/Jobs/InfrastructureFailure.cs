using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Npgsql;
using StackExchange.Redis;

namespace Worker.Jobs;

/// <summary>
/// Failures of Redis or PostgreSQL themselves (down, restarting, unreachable). They are not the job's fault: the
/// job keeps its attempts, stays pending and waits for the infrastructure instead of being retried to death.
/// </summary>
/// <remarks>
/// Decided by where the exception came from, not by its type: only the clients' own exceptions count (Npgsql's
/// transient ones, StackExchange.Redis's connection and timeout errors), which wrap whatever socket error they met. A
/// bare <see cref="System.Net.Sockets.SocketException"/> is not one of them: a job's own network work (a link's host
/// that does not resolve or refuses the connection) raises those, and a job failure must never wait for ever holding
/// its slot. A failure the job classified itself (<see cref="TransientJobException"/>,
/// <see cref="PermanentJobException"/>) is the job's, whatever it wraps.
/// </remarks>
internal static partial class InfrastructureFailure
{
    /// <summary>First wait after Redis or PostgreSQL failed under a job; doubles up to <see cref="MaxWait"/>.</summary>
    private static readonly TimeSpan FirstWait = TimeSpan.FromMilliseconds(200);

    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Runs <paramref name="attempt"/> until it returns; while Redis or PostgreSQL fail under it, waits (200 ms,
    /// doubling up to 5 s) and runs it again (its flag says whether this is the first try). Null when the hard stop
    /// ends it. The state is passed, not captured, and the method's state is pooled: this wraps every job.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<T?> RetryAsync<TState, T>(
        TState state, Func<TState, bool, ValueTask<T>> attempt, ILogger logger, string jobType, string entryId, TimeProvider time,
        CancellationToken hardStop)
        where T : struct
    {
        var wait = FirstWait;
        for (var firstTry = true; ; firstTry = false)
        {
            try
            {
                return await attempt(state, firstTry);
            }
            catch (OperationCanceledException) when (hardStop.IsCancellationRequested)
            {
                return null;
            }
            catch (Exception e) when (Is(e))
            {
                LogInfrastructureFailure(logger, e, jobType, entryId, wait);
                try
                {
                    await Task.Delay(wait, time, hardStop);
                }
                catch (OperationCanceledException)
                {
                    return null;
                }

                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, MaxWait.Ticks));
            }
        }
    }

    public static bool Is(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case TransientJobException or PermanentJobException:
                    return false;
                case NpgsqlException npgsql when npgsql.IsTransient:
                case RedisConnectionException:
                case RedisTimeoutException:
                    return true;
            }
        }

        return false;
    }

    [LoggerMessage(EventId = 2005, EventName = "JobInfrastructureFailure", Level = LogLevel.Warning,
        Message = "Redis or PostgreSQL failed under {JobType} entry {MessageId}; the job keeps its attempts and waits {Wait}")]
    private static partial void LogInfrastructureFailure(ILogger logger, Exception error, string jobType, string messageId, TimeSpan wait);
}
