using Serilog.Core;
using Serilog.Events;

namespace Worker.Jobs;

/// <summary>
/// The job whose code runs in this async flow. Every log line written inside it carries <c>JobId</c>, <c>JobType</c>
/// and <c>MessageId</c>, whichever logger writes it: <see cref="JobLogEnricher"/> reads the scope when a line is
/// written. Entering costs one async-local change per job; <c>ILogger.BeginScope</c> through Serilog cost two, a log
/// context push and five objects, on every job whether it logged or not.
/// </summary>
internal sealed class JobLogScope(string jobId, string jobType, string messageId)
{
    private static readonly AsyncLocal<JobLogScope?> CurrentScope = new();

    public static JobLogScope? Current => CurrentScope.Value;

    public string JobId => jobId;

    public string JobType => jobType;

    public string MessageId => messageId;

    /// <summary>Makes this job current until the result is disposed, which restores the scope that was current.</summary>
    public static Entered Enter(string jobId, string jobType, string messageId)
    {
        var previous = CurrentScope.Value;
        CurrentScope.Value = new JobLogScope(jobId, jobType, messageId);
        return new Entered(previous);
    }

    public override string ToString() => $"job {jobId} ({jobType}, entry {messageId})";

    public readonly struct Entered(JobLogScope? previous) : IDisposable
    {
        public void Dispose() => CurrentScope.Value = previous;
    }
}

/// <summary>Adds the current job's properties to a log line written inside it (and nothing outside a job).</summary>
internal sealed class JobLogEnricher : ILogEventEnricher
{
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        if (JobLogScope.Current is not { } scope)
        {
            return;
        }

        logEvent.AddPropertyIfAbsent(new LogEventProperty("JobId", new ScalarValue(scope.JobId)));
        logEvent.AddPropertyIfAbsent(new LogEventProperty("JobType", new ScalarValue(scope.JobType)));
        logEvent.AddPropertyIfAbsent(new LogEventProperty("MessageId", new ScalarValue(scope.MessageId)));
    }
}
