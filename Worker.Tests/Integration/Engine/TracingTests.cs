using System.Collections.Concurrent;
using System.Diagnostics;
using Worker.Diagnostics;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

[TestFixture]
public sealed class TracingTests : EngineTestBase
{
    [Test]
    public async Task Enqueue_InsideATrace_HandlerSpanContinuesIt()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == WorkerActivity.SourceName || source.Name == "tests",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        using var source = new ActivitySource("tests");
        await using var host = await WorkerTestHost.StartAsync(Settings());

        string jobId;
        ActivityTraceId traceId;
        using (var request = source.StartActivity("web request"))
        {
            traceId = request!.TraceId;
            jobId = await EnqueueAsync(host, "{}");
        }

        await WaitForStatusAsync(jobId, "succeeded");
        var process = await Eventually.GetAsync(
            () => Task.FromResult(spans.FirstOrDefault(s => s.Kind == ActivityKind.Consumer && (string?)s.GetTagItem("job.id") == jobId)),
            s => s is not null, "the handler's span");
        Assert.That(process!.TraceId, Is.EqualTo(traceId));
        Assert.That(spans.Any(s => s.Kind == ActivityKind.Producer && s.TraceId == traceId), Is.True, "an enqueue span in the same trace");
    }
}
