namespace Worker.Jobs.LinkMetadata.Fetching;

/// <summary>At most N fetches at once per host name; a host's gate lives only while someone uses it.</summary>
internal sealed class HostLimiter(int perHost)
{
    private readonly Dictionary<string, Gate> _gates = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();

    public async Task<IDisposable> EnterAsync(string host, CancellationToken ct)
    {
        Gate gate;
        lock (_lock)
        {
            if (!_gates.TryGetValue(host, out gate!))
            {
                gate = new Gate(new SemaphoreSlim(perHost, perHost));
                _gates[host] = gate;
            }

            gate.Users++;
        }

        try
        {
            await gate.Semaphore.WaitAsync(ct);
        }
        catch
        {
            Leave(host, gate, release: false);
            throw;
        }

        return new Lease(this, host, gate);
    }

    private void Leave(string host, Gate gate, bool release)
    {
        if (release)
        {
            gate.Semaphore.Release();
        }

        lock (_lock)
        {
            if (--gate.Users == 0)
            {
                _gates.Remove(host);
                gate.Semaphore.Dispose();
            }
        }
    }

    private sealed class Gate(SemaphoreSlim semaphore)
    {
        public SemaphoreSlim Semaphore { get; } = semaphore;

        public int Users { get; set; }
    }

    private sealed class Lease(HostLimiter owner, string host, Gate gate) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                owner.Leave(host, gate, release: true);
            }
        }
    }
}
