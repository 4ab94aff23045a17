using System.Diagnostics;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Soak;

/// <summary>Worker processes that the soak kills, stops and pauses, and brings back.</summary>
internal sealed class Fleet : IAsyncDisposable
{
    private readonly IDictionary<string, string?> _settings;
    private readonly WorkerProcess?[] _workers;
    private readonly List<WorkerProcess> _started = [];
    private readonly Lock _lock = new();
    private int _restarts;

    public Fleet(IDictionary<string, string?> settings, int size)
    {
        _settings = settings;
        _workers = new WorkerProcess?[size];
        Revive();
    }

    public int Restarts => Volatile.Read(ref _restarts);

    /// <summary>Starts a process in every empty or dead seat (a poison job or a fault may have ended one).</summary>
    public void Revive()
    {
        lock (_lock)
        {
            for (var i = 0; i < _workers.Length; i++)
            {
                if (_workers[i] is { HasExited: false })
                {
                    continue;
                }

                if (_workers[i] is not null)
                {
                    _workers[i]!.Dispose();
                    Interlocked.Increment(ref _restarts);
                }

                _workers[i] = WorkerProcess.Start(_settings, "run");
                _started.Add(_workers[i]!);
            }
        }
    }

    /// <summary>Every warning and error any process of the fleet logged, in start order, each line led by its pid.</summary>
    public IEnumerable<string> Warnings()
    {
        lock (_lock)
        {
            // Compact JSON marks the level only when it is above Information.
            return _started.SelectMany(w => (w.StandardOutput + w.StandardError)
                .Split('\n')
                .Where(line => line.Contains("\"@l\":", StringComparison.Ordinal))
                .Select(line => $"{w.Id} {line.TrimEnd()}")).ToList();
        }
    }

    /// <summary>kill -9 of one worker; returns its consumer name (host-pid-0), whose entries must then be reclaimed.</summary>
    public string KillOne(Random random)
    {
        lock (_lock)
        {
            var worker = _workers[random.Next(_workers.Length)]!;
            var name = $"{Environment.MachineName}-{worker.Id}-0";
            worker.KillHard();
            return name;
        }
    }

    public async Task TerminateOneAsync(Random random)
    {
        WorkerProcess worker;
        lock (_lock)
        {
            worker = _workers[random.Next(_workers.Length)]!;
        }

        if (!worker.HasExited)
        {
            worker.Signal("TERM");
            try
            {
                await worker.WaitForExitAsync(TimeSpan.FromSeconds(20));
            }
            catch (OperationCanceledException)
            {
                worker.KillHard();
            }
        }
    }

    public void PauseOne(Random random, TimeSpan pause)
    {
        WorkerProcess worker;
        lock (_lock)
        {
            worker = _workers[random.Next(_workers.Length)]!;
        }

        if (!worker.HasExited)
        {
            worker.Signal("STOP");
            _ = Task.Delay(pause).ContinueWith(_ => { if (!worker.HasExited) { worker.Signal("CONT"); } }, TaskScheduler.Default);
        }
    }

    public void ResumeAll()
    {
        lock (_lock)
        {
            foreach (var worker in _workers)
            {
                if (worker is { HasExited: false })
                {
                    worker.Signal("CONT");
                }
            }
        }
    }

    public Task EnsureRunningAsync()
    {
        Revive();
        return Task.CompletedTask;
    }

    public async Task StopAllAsync()
    {
        WorkerProcess?[] workers;
        lock (_lock)
        {
            workers = [.. _workers];
        }

        foreach (var worker in workers.OfType<WorkerProcess>().Where(w => !w.HasExited))
        {
            worker.Signal("TERM");
        }

        foreach (var worker in workers.OfType<WorkerProcess>())
        {
            try
            {
                await worker.WaitForExitAsync(TimeSpan.FromSeconds(20));
            }
            catch (OperationCanceledException)
            {
                worker.KillHard();
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            foreach (var worker in _workers)
            {
                worker?.Dispose();
            }
        }

        return ValueTask.CompletedTask;
    }
}
