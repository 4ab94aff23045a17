using System.Diagnostics.Tracing;
using System.Globalization;

namespace Worker.Bench;

/// <summary>
/// Where the allocations of a drain go: the runtime samples one allocation about every 100 KB (GCAllocationTick) and
/// names its type; the share of samples per type approximates the share of bytes. On with <c>BENCH_ALLOC=1</c>.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly Dictionary<string, (int Samples, long Bytes)> _byType = [];
    private readonly Lock _lock = new();
    private volatile bool _recording;

    public void Start() => _recording = true;

    public void Stop() => _recording = false;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!_recording || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null)
        {
            return;
        }

        var type = e.Payload![e.PayloadNames.IndexOf("TypeName")] as string ?? "?";
        var amount = Convert.ToInt64(e.Payload[e.PayloadNames.IndexOf("AllocationAmount")], CultureInfo.InvariantCulture);
        lock (_lock)
        {
            var (samples, bytes) = _byType.GetValueOrDefault(type);
            _byType[type] = (samples + 1, bytes + amount);
        }
    }

    /// <summary>The top types by sampled bytes, as bytes per job of the <paramref name="jobs"/> run.</summary>
    public void Report(TextWriter output, int jobs, int top = 25)
    {
        lock (_lock)
        {
            var total = _byType.Values.Sum(v => v.Bytes);
            output.WriteLine(FormattableString.Invariant($"  allocation samples: {_byType.Values.Sum(v => v.Samples)}, {total / (double)jobs:0} B per job sampled"));
            foreach (var (type, (samples, bytes)) in _byType.OrderByDescending(kv => kv.Value.Bytes).Take(top))
            {
                output.WriteLine(FormattableString.Invariant($"  {bytes / (double)jobs,8:0.0} B/job {100.0 * bytes / total,5:0.0}%  {type}"));
            }
        }
    }
}
