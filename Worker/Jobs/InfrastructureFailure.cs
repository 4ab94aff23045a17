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
internal static class InfrastructureFailure
{
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
}
