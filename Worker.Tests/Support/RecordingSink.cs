using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Events;

namespace Worker.Tests.Support;

/// <summary>A Serilog sink that keeps every event a test host writes, to assert on what was logged.</summary>
internal sealed class RecordingSink : ILogEventSink
{
    private readonly ConcurrentQueue<LogEvent> _events = new();

    public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

    public List<LogEvent> Lines(string template) => _events.Where(e => e.MessageTemplate.Text == template).ToList();

    /// <summary>The events of one <c>[LoggerMessage]</c> id (the <c>EventId</c> property Microsoft.Extensions.Logging adds).</summary>
    public List<LogEvent> WithEventId(int id) => _events.Where(e =>
        e.Properties.TryGetValue("EventId", out var value)
        && value is StructureValue structure
        && structure.Properties.Any(p => p.Name == "Id" && p.Value is ScalarValue { Value: int found } && found == id)).ToList();
}
