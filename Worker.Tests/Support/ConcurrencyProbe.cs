using Worker.Jobs;

namespace Worker.Tests.Support;

/// <summary>A job type that counts how many of its jobs run at once; each holds its slot for <c>holdMs</c>.</summary>
internal sealed class ConcurrencyProbe(string type = ConcurrencyProbe.DefaultType, int holdMs = 150) : IJobHandler
{
    public const string DefaultType = "probe";
    private int _running;
    private int _maxSeen;
    private int _completed;

    public string JobType => type;

    public int MaxSeen => Volatile.Read(ref _maxSeen);

    public int Completed => Volatile.Read(ref _completed);

    public async Task HandleAsync(JobContext context, CancellationToken cancellationToken)
    {
        var now = Interlocked.Increment(ref _running);
        int seen;
        while ((seen = Volatile.Read(ref _maxSeen)) < now && Interlocked.CompareExchange(ref _maxSeen, now, seen) != seen)
        {
        }

        // Long enough that every slot is busy at once when the work is there.
        await Task.Delay(holdMs, cancellationToken);
        Interlocked.Decrement(ref _running);
        Interlocked.Increment(ref _completed);
    }
}
