using System.Net.Sockets;
using Npgsql;
using StackExchange.Redis;

namespace Worker.Jobs;

/// <summary>
/// Failures of Redis or PostgreSQL themselves (down, restarting, unreachable). They are not the job's fault: the
/// job keeps its attempts, stays pending and waits for the infrastructure instead of being retried to death.
/// </summary>
internal static class InfrastructureFailure
{
    public static bool Is(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case NpgsqlException npgsql when npgsql.IsTransient:
                case RedisConnectionException:
                case RedisTimeoutException:
                case SocketException:
                    return true;
            }
        }

        return false;
    }
}
