using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Worker.Tests.Support;

/// <summary>A redis-server of the test's own (AOF, fsync always) that the test may kill and restart.</summary>
internal sealed class PrivateRedis : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("worker-redis-").FullName;
    private readonly string[] _extraArgs;
    private Process? _process;

    /// <summary>With <paramref name="extraArgs"/> added to the command line, e.g. <c>--cluster-enabled yes</c>.</summary>
    public PrivateRedis(params string[] extraArgs)
        : this(tls: false, extraArgs)
    {
    }

    private PrivateRedis(bool tls, string[] extraArgs) =>
        (Port, Tls, _extraArgs) = (extraArgs.Contains("--cluster-enabled") ? Ports.FreeForCluster() : Ports.Free(), tls, extraArgs);

    public int Port { get; }

    /// <summary>
    /// Serves TLS only (no plain port) with <see cref="TestCertificates"/>' server certificate, asking clients for none.
    /// A client must trust <see cref="TestCertificates.IssuerPath"/> (<see cref="TestCertificates.TrustAmbiently"/>).
    /// </summary>
    public bool Tls { get; }

    public static PrivateRedis WithTls() => new(tls: true, []);

    public string Configuration => Tls ? $"127.0.0.1:{Port},ssl=true,sslHost=localhost" : $"127.0.0.1:{Port}";

    public async Task StartAsync()
    {
        var server = Environment.GetEnvironmentVariable("WORKER_TEST_REDIS_SERVER") is { Length: > 0 } path ? path : "redis-server";
        var info = new ProcessStartInfo(server) { UseShellExecute = false, RedirectStandardOutput = true };
        string[] listen = Tls
            ? ["--port", "0", "--tls-port", Port.ToString(), "--tls-cert-file", TestCertificates.ServerCertificatePath,
               "--tls-key-file", TestCertificates.ServerKeyPath, "--tls-ca-cert-file", TestCertificates.IssuerPath, "--tls-auth-clients", "no"]
            : ["--port", Port.ToString()];
        foreach (var arg in new[] { "--bind", "127.0.0.1", "--dir", _dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "" }.Concat(listen).Concat(_extraArgs))
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                var options = ConfigurationOptions.Parse($"{Configuration},abortConnect=false,connectTimeout=200");
                if (Tls)
                {
                    options.TrustIssuer(TestCertificates.IssuerPath);
                }

                await using var probe = await ConnectionMultiplexer.ConnectAsync(options);
                await probe.GetDatabase().PingAsync();
                return true;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                return false;
            }
        }, $"redis-server on port {Port} to answer");
    }

    public bool Running => _process is { HasExited: false };

    /// <summary>SIGSTOP or SIGCONT: a node that stalls without closing its connections.</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>SIGKILL: Redis gets no chance to save; only what AOF already has survives.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit();
        }
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            // A stopped process ignores nothing but SIGKILL; continue it anyway so nothing is left frozen.
            Signal("CONT");
        }

        Kill();
        _process?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

}
