using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog.Core;
using Serilog.Events;
using Worker.Jobs;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>A line a handler logs carries the job it was written in (JobId, JobType, MessageId); a line outside a job carries none.</summary>
[TestFixture]
public sealed class JobLoggingTests : EngineTestBase
{
    [Test]
    public async Task Run_HandlerLogsThroughItsOwnLogger_LineCarriesTheJob()
    {
        var sink = new RecordingSink();
        await using var host = await WorkerTestHost.StartAsync(
            new Dictionary<string, string?>(Settings())
            {
                ["Worker:Jobs:noop:Enabled"] = "false",
                [$"Worker:Jobs:{ChattyHandler.Type}:Enabled"] = "true",
                [$"Worker:Jobs:{ChattyHandler.Type}:Stream"] = Stream,
                [$"Worker:Jobs:{ChattyHandler.Type}:PersistState"] = "false",
            },
            services => services.AddSingleton<IJobHandler, ChattyHandler>().AddSingleton<ILogEventSink>(sink));
        var first = await host.Queue.EnqueueAsync(ChattyHandler.Type, "{}", NewJobId());
        var second = await host.Queue.EnqueueAsync(ChattyHandler.Type, "{}", NewJobId());
        host.Host.Services.GetRequiredService<ILogger<JobLoggingTests>>().LogWarning("outside any job");

        await Eventually.TrueAsync(() => Task.FromResult(sink.Lines(ChattyHandler.Line).Count == 2), "both jobs to log");
        var lines = sink.Lines(ChattyHandler.Line).ToDictionary(e => Property(e, "JobId")!);
        var outside = sink.Lines("outside any job").Single();
        Assert.Multiple(() =>
        {
            Assert.That(lines.Keys, Is.EquivalentTo(new[] { first, second }));
            Assert.That(lines.Values.Select(e => Property(e, "JobType")), Is.All.EqualTo(ChattyHandler.Type));
            Assert.That(lines.Values.Select(e => Property(e, "MessageId")), Is.All.Match(@"^\d+-\d+$"));
            Assert.That(Property(lines[first], "MessageId"), Is.Not.EqualTo(Property(lines[second], "MessageId")));
            Assert.That(outside.Properties.ContainsKey("JobId"), Is.False);
        });
    }

    private static string? Property(LogEvent e, string name) =>
        e.Properties.TryGetValue(name, out var value) && value is ScalarValue { Value: string text } ? text : null;

    /// <summary>Logs one line through the logger DI gives it, as any handler would.</summary>
    private sealed class ChattyHandler(ILogger<ChattyHandler> logger) : IJobHandler
    {
        public const string Type = "chatty";
        public const string Line = "handling the job";

        public string JobType => Type;

        public Task HandleAsync(JobContext context, CancellationToken cancellationToken)
        {
#pragma warning disable CA1848, CA2254 // a plain call, as a handler's author would write it
            logger.LogWarning(Line);
#pragma warning restore CA1848, CA2254
            return Task.CompletedTask;
        }
    }
}
