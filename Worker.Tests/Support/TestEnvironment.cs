namespace Worker.Tests.Support;

/// <summary>The real Redis and PostgreSQL that <c>./scripts/test</c> starts, named by environment variables.</summary>
internal static class TestEnvironment
{
    public static string Redis => Require("WORKER_TEST_REDIS");

    public static string Postgres => Require("WORKER_TEST_POSTGRES");

    /// <summary>The test Redis Cluster (3 masters, 3 replicas): its nodes, comma-separated, as a configuration string.</summary>
    public static string RedisCluster => Require("WORKER_TEST_REDIS_CLUSTER");

    /// <summary>The test Redis's host and port, for tests that reach it through another address or a proxy.</summary>
    public static (string Host, int Port) RedisAddress =>
        StackExchange.Redis.ConfigurationOptions.Parse(Redis).EndPoints.Single() switch
        {
            System.Net.IPEndPoint ip => (ip.Address.ToString(), ip.Port),
            System.Net.DnsEndPoint dns => (dns.Host, dns.Port),
            var other => throw new InvalidOperationException($"WORKER_TEST_REDIS names {other}, not a host and port"),
        };

    /// <summary>The worker executable built beside the tests, for tests that need a process of their own (kill -9).</summary>
    public static string WorkerDll
    {
        get
        {
            var here = Path.Combine(AppContext.BaseDirectory, "Worker.dll");
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            var project = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "Worker", "bin", configuration, "net10.0", "Worker.dll"));
            return File.Exists(project) ? project : here;
        }
    }

    private static string Require(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{name} is not set: run the tests through ./scripts/test, which starts Redis (single and a cluster) and PostgreSQL");
}
