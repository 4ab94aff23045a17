using Worker.Admin;
using Worker.Hosting;

namespace Worker.Tests.Unit.Engine;

/// <summary>
/// The command line as System.CommandLine reads it: help for the program and each verb, and a bad command line refused
/// with exit 64 naming what was wrong. Nothing here reaches a verb's action (no Redis or PostgreSQL needed).
/// </summary>
[TestFixture]
public sealed class CliTests
{
    private static readonly string[][] Verbs =
    [
        ["run"], ["migrate"], ["enqueue"], ["cancel"], ["stats"], ["pending"], ["schedules"],
        ["dlq", "list"], ["dlq", "show"], ["dlq", "replay"], ["dlq", "purge"], ["extract"],
    ];

    [TestCase("--help")]
    [TestCase("help")]
    [TestCase("-h")]
    public async Task Help_Program_ListsEveryVerbAndExitsZero(string flag)
    {
        var (code, output, _) = await RunAsync(flag);

        Assert.That(code, Is.EqualTo(ExitCodes.Ok));
        Assert.That(output, Does.Contain("Usage:"));
        foreach (var verb in Verbs.Select(v => v[0]).Distinct())
        {
            Assert.That(output, Does.Contain($"  {verb}"), verb);
        }
    }

    [TestCaseSource(nameof(Verbs))]
    public async Task Help_EachVerb_PrintsItsUsageAndExitsZero(string[] verb)
    {
        var (code, output, error) = await RunAsync([.. verb, "--help"]);

        Assert.That(code, Is.EqualTo(ExitCodes.Ok), error);
        // The program's own name leads the usage line (the test host's here).
        Assert.That(output, Does.Match($@"Usage:\s+\S+ {string.Join(' ', verb)}\b"));
    }

    [TestCaseSource(nameof(Verbs))]
    public async Task UnknownFlag_EachVerb_Exit64NamingIt(string[] verb)
    {
        var (code, output, error) = await RunAsync([.. verb, "--bogus"]);

        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain($"{string.Join(' ', verb)}: ").And.Contain("'--bogus'"));
        Assert.That(output, Is.Empty);
    }

    [TestCase(new[] { "enqueue", "noop", "{}", "--priority", "urgent" }, "enqueue: --priority must be high, normal or low (was 'urgent')")]
    [TestCase(new[] { "enqueue", "noop", "{}", "--in", "soon" }, "enqueue: --in must be a duration")]
    [TestCase(new[] { "enqueue", "noop", "{}", "--at", "1h", "--in", "1h" }, "enqueue: ")]
    [TestCase(new[] { "enqueue", "noop", "{}", "--in", "1h", "--at", "2030-01-01T00:00:00Z" }, "enqueue: give --at or --in, not both")]
    [TestCase(new[] { "enqueue", "noop" }, "enqueue: give a payload or --from, one of them")]
    [TestCase(new[] { "enqueue", "noop", "{}", "--from", "jobs.jsonl" }, "enqueue: give a payload or --from, one of them")]
    [TestCase(new[] { "enqueue", "noop", "--from", "jobs.jsonl", "--job-id", "a" }, "enqueue: --job-id names one job")]
    [TestCase(new[] { "enqueue", "noop", "{}", "--batch-size", "5" }, "enqueue: --job-id-field and --batch-size go with --from")]
    [TestCase(new[] { "enqueue", "noop", "--from", "jobs.jsonl", "--batch-size", "0" }, "enqueue: --batch-size must be between 1 and 10000 (was '0')")]
    [TestCase(new[] { "pending", "--count", "-3" }, "pending: --count must be a positive integer (was '-3')")]
    [TestCase(new[] { "dlq", "list", "--since", "yesterday" }, "dlq list: 'yesterday' is neither an ISO-8601 time nor an age")]
    [TestCase(new[] { "dlq", "replay", "--rate", "fast" }, "dlq replay: --rate must be a positive integer (was 'fast')")]
    [TestCase(new[] { "dlq", "show" }, "dlq show: ")]
    [TestCase(new[] { "extract", "--url", "not a url" }, "extract: --url must be an absolute address")]
    [TestCase(new[] { "cancel", "noop" }, "cancel: ")]
    [TestCase(new[] { "frobnicate" }, "worker: ")]
    public async Task BadCommandLine_Exit64WithTheProblem(string[] args, string problem)
    {
        var (code, _, error) = await RunAsync(args);

        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain(problem));
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Cli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
