using System.Diagnostics;
using System.Globalization;
using Worker.Jobs;

namespace Worker.Bench;

/// <summary>Records, at handler start, how long ago the producer stamped the payload (same process, same clock).</summary>
internal sealed class LatencyProbeHandler : IJobHandler
{
    public const string Type = "latency";
    private readonly List<(long Stamp, double Ms)> _pickups = [];
    private readonly Lock _lock = new();

    public string JobType => Type;

    public int Count { get { lock (_lock) { return _pickups.Count; } } }

    public Task HandleAsync(JobContext context, CancellationToken cancellationToken)
    {
        var now = Stopwatch.GetTimestamp();
        var stamp = StampOf(context.Payload);
        var ms = Stopwatch.GetElapsedTime(stamp, now).TotalMilliseconds;
        lock (_lock)
        {
            _pickups.Add((stamp, ms));
        }

        return Task.CompletedTask;
    }

    public double[] Samples() { lock (_lock) { return [.. _pickups.Select(p => p.Ms)]; } }

    /// <summary>Forgets the pickups so far (the warm-up's).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _pickups.Clear();
        }
    }

    /// <summary>Each pickup in the order the handler saw it: when it was stamped and how long it took.</summary>
    public (long Stamp, double Ms)[] Timeline() { lock (_lock) { return [.. _pickups]; } }

    public static string Payload() => $"{{\"t\":{Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture)}}}";

    /// <summary>The timestamp a <see cref="Payload"/> carries: <c>{"t":N}</c>.</summary>
    public static long StampOf(string payload) => long.Parse(payload.AsSpan(5, payload.Length - 6), CultureInfo.InvariantCulture);
}
