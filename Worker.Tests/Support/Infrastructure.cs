using Npgsql;
using StackExchange.Redis;

namespace Worker.Tests.Support;

/// <summary>Shared clients for the tests' own look at Redis and PostgreSQL (not the worker's connections).</summary>
internal static class Infrastructure
{
    private static readonly Lazy<ConnectionMultiplexer> LazyRedis = new(() =>
    {
        var options = ConfigurationOptions.Parse(TestEnvironment.Redis);
        options.AllowAdmin = true;
        return ConnectionMultiplexer.Connect(options);
    });

    private static readonly Lazy<ConnectionMultiplexer> LazyCluster = new(() =>
    {
        var options = ConfigurationOptions.Parse(TestEnvironment.RedisCluster);
        options.AllowAdmin = true;
        return ConnectionMultiplexer.Connect(options);
    });

    private static readonly Lazy<NpgsqlDataSource> LazyPostgres = new(() => NpgsqlDataSource.Create(TestEnvironment.Postgres));

    public static ConnectionMultiplexer Redis => LazyRedis.Value;

    public static IDatabase Db => Redis.GetDatabase();

    /// <summary>The test Redis Cluster, through a multiplexer that follows its slots.</summary>
    public static ConnectionMultiplexer Cluster => LazyCluster.Value;

    public static NpgsqlDataSource Postgres => LazyPostgres.Value;

    public static async Task<T> ScalarAsync<T>(string sql, params object[] args)
    {
        await using var command = Postgres.CreateCommand(sql);
        foreach (var arg in args)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = arg });
        }

        var result = await command.ExecuteScalarAsync();
        return result is null or DBNull ? default! : (T)Convert.ChangeType(result, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task ExecuteAsync(string sql, params object[] args)
    {
        await using var command = Postgres.CreateCommand(sql);
        foreach (var arg in args)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = arg });
        }

        await command.ExecuteNonQueryAsync();
    }

    public static void Dispose()
    {
        if (LazyRedis.IsValueCreated)
        {
            LazyRedis.Value.Dispose();
        }

        if (LazyCluster.IsValueCreated)
        {
            LazyCluster.Value.Dispose();
        }

        if (LazyPostgres.IsValueCreated)
        {
            LazyPostgres.Value.Dispose();
        }
    }
}
