using System.Diagnostics;
using System.Globalization;
using Worker.Jobs;

namespace Worker.Bench;

/// <summary>Records, at handler start, how long ago the producer stamped the payload (same process, same clock).</summary>
internal sealed class LatencyProbeHandler : IJobHandler
{
    public const string Type = "latency";
    private readonly List<double> _samplesMs = [];
    private readonly List<long> _stamps = [];
    private readonly Lock _lock = new();

    public string JobType => Type;

    public int Count { get { lock (_lock) { return _samplesMs.Count; } } }

    public Task HandleAsync(JobContext context, CancellationToken cancellationToken)
    {
        var now = Stopwatch.GetTimestamp();
        var stamp = StampOf(context.Payload);
        var ms = Stopwatch.GetElapsedTime(stamp, now).TotalMilliseconds;
        lock (_lock)
        {
            _samplesMs.Add(ms);
            _stamps.Add(stamp);
        }

        return Task.CompletedTask;
    }

    public double[] Samples() { lock (_lock) { return [.. _samplesMs]; } }

    /// <summary>Forgets the pickups so far (the warm-up's).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _samplesMs.Clear();
            _stamps.Clear();
        }
    }

    /// <summary>Each pickup in the order the handler saw it: when it was stamped and how long it took.</summary>
    public (long Stamp, double Ms)[] Timeline() { lock (_lock) { return [.. _stamps.Zip(_samplesMs)]; } }

    public static string Payload() => $"{{\"t\":{Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture)}}}";

    /// <summary>The timestamp a <see cref="Payload"/> carries: <c>{"t":N}</c>.</summary>
    public static long StampOf(string payload) => long.Parse(payload.AsSpan(5, payload.Length - 6), CultureInfo.InvariantCulture);
}
