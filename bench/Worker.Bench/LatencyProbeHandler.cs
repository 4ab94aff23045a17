using System.Diagnostics;
using System.Globalization;
using Worker.Jobs;

namespace Worker.Bench;

/// <summary>Records, at handler start, how long ago the producer stamped the payload (same process, same clock).</summary>
internal sealed class LatencyProbeHandler : IJobHandler
{
    public const string Type = "latency";
    private readonly List<double> _samplesMs = [];
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
        }

        return Task.CompletedTask;
    }

    public double[] Samples() { lock (_lock) { return [.. _samplesMs]; } }

    public static string Payload() => $"{{\"t\":{Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture)}}}";

    /// <summary>The timestamp a <see cref="Payload"/> carries: <c>{"t":N}</c>.</summary>
    public static long StampOf(string payload) => long.Parse(payload.AsSpan(5, payload.Length - 6), CultureInfo.InvariantCulture);
}
