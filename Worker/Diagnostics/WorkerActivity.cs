using System.Diagnostics;

namespace Worker.Diagnostics;

/// <summary>
/// Traces (activity source <c>Worker</c>): a producer span at enqueue whose W3C <c>traceparent</c> travels in the
/// entry, and a consumer span per execution that continues it. Without a listener nothing is allocated.
/// </summary>
internal static class WorkerActivity
{
    public const string SourceName = "Worker";

    public static readonly ActivitySource Source = new(SourceName);

    public static Activity? StartEnqueue(string jobType, string streamKey)
    {
        var activity = Source.StartActivity($"{jobType} publish", ActivityKind.Producer);
        activity?.SetTag("messaging.system", "redis");
        activity?.SetTag("messaging.destination.name", streamKey);
        return activity;
    }

    public static Activity? StartProcess(string jobType, string streamKey, string jobId, string entryId, string? traceParent)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        ActivityContext.TryParse(traceParent, null, out var parent);
        var activity = Source.StartActivity($"{jobType} process", ActivityKind.Consumer, parent);
        activity?.SetTag("messaging.system", "redis");
        activity?.SetTag("messaging.destination.name", streamKey);
        activity?.SetTag("messaging.message.id", entryId);
        activity?.SetTag("job.id", jobId);
        return activity;
    }
}
