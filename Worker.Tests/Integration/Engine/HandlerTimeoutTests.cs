using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Worker.Jobs;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.Engine;

/// <summary>A handler gets <c>HandlerTimeout</c> per execution; past it the execution fails as <c>handler_timeout</c>.</summary>
[TestFixture]
public sealed class HandlerTimeoutTests : EngineTestBase
{
    [Test]
    public async Task Run_HandlerOverItsTimeout_CancelledRetriedThenDeadLettered()
    {
        await using var host = await WorkerTestHost.StartAsync(Settings(
            ("Worker:Jobs:noop:HandlerTimeout", "00:00:00.300"),
            ("Worker:Jobs:noop:Retry:MaxAttempts", "2"),
            ("Worker:Jobs:noop:Retry:BaseDelay", "00:00:00.010"),
            ("Worker:Jobs:noop:Retry:InlineThreshold", "00:00:01")));
        var jobId = await EnqueueAsync(host, """{"delay_ms":60000}""");

        var letter = (await WaitForDeadLettersAsync(1)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(Field(letter, "job_id"), Is.EqualTo(jobId));
            Assert.That(Field(letter, "error_type"), Is.EqualTo("attempts_exhausted"));
            Assert.That(Field(letter, "error_message"), Does.StartWith("handler_timeout"));
            Assert.That(Field(letter, "attempts"), Is.EqualTo("2"));
        });
    }

    [Test]
    public async Task Run_HandlerIgnoringItsToken_SlotIsFreedAtTheTimeoutForTheNextJob()
    {
        var handler = new StubbornHandler();
        await using var host = await WorkerTestHost.StartAsync(
            new Dictionary<string, string?>(Settings())
            {
                ["Worker:Jobs:noop:Enabled"] = "false",
                [$"Worker:Jobs:{StubbornHandler.Type}:Enabled"] = "true",
                [$"Worker:Jobs:{StubbornHandler.Type}:Stream"] = Stream,
                [$"Worker:Jobs:{StubbornHandler.Type}:Concurrency"] = "1",
                [$"Worker:Jobs:{StubbornHandler.Type}:HandlerTimeout"] = "00:00:00.300",
                [$"Worker:Jobs:{StubbornHandler.Type}:Retry:MaxAttempts"] = "1",
                [$"Worker:Jobs:{StubbornHandler.Type}:PersistState"] = "false",
            },
            services => services.AddSingleton<IJobHandler>(handler));
        var stuck = await host.Queue.EnqueueAsync(StubbornHandler.Type, """{"stuck":true}""", NewJobId());
        var next = await host.Queue.EnqueueAsync(StubbornHandler.Type, "{}", NewJobId());

        await Eventually.TrueAsync(() => Task.FromResult(handler.Finished.Contains(next)), "the job behind the stuck one to run");
        var letter = (await WaitForDeadLettersAsync(1)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(Field(letter, "job_id"), Is.EqualTo(stuck));
            Assert.That(Field(letter, "error_message"), Does.StartWith("handler_timeout"));
            Assert.That(handler.Finished, Does.Not.Contain(stuck));
        });
    }

    /// <summary>Never finishes a job whose payload says <c>stuck</c>, and never looks at its token.</summary>
    private sealed class StubbornHandler : IJobHandler
    {
        public const string Type = "stubborn";

        private readonly TaskCompletionSource _never = new();

        public ConcurrentBag<string> Finished { get; } = [];

        public string JobType => Type;

        public async Task HandleAsync(JobContext context, CancellationToken cancellationToken)
        {
            if (context.Payload.Contains("stuck", StringComparison.Ordinal))
            {
                await _never.Task;
            }

            Finished.Add(context.JobId);
        }
    }
}
