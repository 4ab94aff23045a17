using System.CommandLine;
using System.CommandLine.Parsing;
using Worker.Hosting;
using Worker.Jobs;

namespace Worker.Admin;

/// <summary>
/// The command line (System.CommandLine): every verb with its arguments and options, <c>--help</c> on each, and one
/// rule for a bad command line: each problem on stderr, prefixed with the verb, then exit 64. A verb's action gets
/// typed values and calls its command.
/// </summary>
internal static class Cli
{
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        // `Worker help` as `Worker --help`; no verb at all runs the service.
        var result = Root().Parse(args is ["help"] ? ["--help"] : args);
        var invocation = new InvocationConfiguration
        {
            Output = output ?? Console.Out,
            Error = error ?? Console.Error,
            // A failure inside a verb is reported by Program, one line naming the verb.
            EnableDefaultExceptionHandler = false,
        };
        // A token like an option that no option took is taken as an argument's value: it is an unknown option.
        var unknown = result.CommandResult.Children.OfType<ArgumentResult>().SelectMany(a => a.Tokens)
            .Where(t => t.Value.StartsWith("--", StringComparison.Ordinal)).Select(t => $"Unrecognized option '{t.Value}'.").ToList();
        if ((result.Errors.Count > 0 || unknown.Count > 0) && result.Action is not { ClearsParseErrors: true })
        {
            var verb = result.CommandResult.Command is RootCommand ? "worker" : string.Join(' ', Path(result.CommandResult));
            foreach (var problem in unknown.Concat(result.Errors.Select(e => e.Message)))
            {
                invocation.Error.WriteLine($"{verb}: {problem}");
            }

            invocation.Error.WriteLine($"see: worker {(verb == "worker" ? string.Empty : verb + " ")}--help");
            return ExitCodes.Usage;
        }

        return await result.InvokeAsync(invocation);
    }

    private static IEnumerable<string> Path(CommandResult command) =>
        command.Parent is CommandResult parent && parent.Command is not RootCommand ? [.. Path(parent), command.Command.Name] : [command.Command.Name];

    private static RootCommand Root()
    {
        var root = new RootCommand(
            "The worker service (run, the default) and its admin verbs. Configuration: appsettings.json, then environment " +
            "variables (Worker__Jobs__noop__Enabled=true).");
        root.SetAction((_, _) => RunCommand.ExecuteAsync());
        root.Subcommands.Add(Simple("run", "run the worker service (the default)", RunCommand.ExecuteAsync));
        root.Subcommands.Add(Simple("migrate", "apply the database migrations", MigrateCommand.ExecuteAsync));
        root.Subcommands.Add(Enqueue());
        root.Subcommands.Add(Cancel());
        root.Subcommands.Add(Stats());
        root.Subcommands.Add(Pending());
        root.Subcommands.Add(Schedules());
        root.Subcommands.Add(Dlq());
        root.Subcommands.Add(Extract());
        return root;
    }

    private static Command Simple(string name, string description, Func<Task<int>> execute)
    {
        var command = new Command(name, description);
        command.SetAction((_, _) => execute());
        return command;
    }

    private static Command Enqueue()
    {
        var type = new Argument<string>("type") { Description = "the job type" };
        var payload = new Argument<string?>("payload-json") { Description = "the job's payload (or --from)", Arity = ArgumentArity.ZeroOrOne };
        var jobId = new Option<string?>("--job-id") { Description = "the job's id (idempotency key); default: the entry id" };
        var from = new Option<string?>("--from") { Description = "one JSON payload a line from FILE (-: standard input)", HelpName = "FILE" };
        var idField = new Option<string?>("--job-id-field") { Description = "with --from: the job id is this field of each payload", HelpName = "NAME" };
        var batchSize = new Option<int>("--batch-size")
        {
            Description = $"with --from: jobs a batch (1 to {EnqueueCommand.Arguments.MaxBatchSize})",
            DefaultValueFactory = _ => EnqueueCommand.Arguments.DefaultBatchSize,
            HelpName = "N",
        };
        batchSize.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > EnqueueCommand.Arguments.MaxBatchSize)
            {
                r.AddError($"--batch-size must be between 1 and {EnqueueCommand.Arguments.MaxBatchSize} (was '{r.Tokens.FirstOrDefault()?.Value}')");
            }
        });
        var at = Parsed<DateTimeOffset?>("--at", "not before WHEN (ISO 8601, UTC without an offset, or Unix ms)", "WHEN", text =>
            StartTime.TryParseAt(text, out var when, out var problem) ? (when, null) : (null, problem));
        var @in = Parsed<TimeSpan?>("--in", "not before DURATION from now (500ms, 30s, 5m, 2h, 1d, 00:00:30)", "DURATION", text =>
            StartTime.TryParseIn(text, out var delay, out var problem) ? (delay, null) : (null, problem));
        var priority = Parsed<JobPriority>("--priority", "the lane: high, normal (default) or low (the type needs Priorities)", "P", text =>
            JobPriorities.TryParse(text, out var p) ? (p, null) : (JobPriority.Normal, $"--priority must be high, normal or low (was '{text}')"),
            JobPriority.Normal);

        var command = new Command("enqueue", "enqueue one job and print its id, or many with --from")
        {
            type, payload, jobId, from, idField, batchSize, at, @in, priority,
        };
        command.Validators.Add(r =>
        {
            var bulk = r.GetResult(from) is not null;
            if (bulk == (r.GetResult(payload) is { Tokens.Count: > 0 }))
            {
                r.AddError("give a payload or --from, one of them");
            }
            else if (bulk && r.GetResult(jobId) is not null)
            {
                r.AddError("--job-id names one job: with --from, use --job-id-field");
            }
            else if (!bulk && (r.GetResult(idField) is not null || r.GetResult(batchSize) is { Implicit: false }))
            {
                r.AddError("--job-id-field and --batch-size go with --from");
            }

            if (r.GetResult(at) is not null && r.GetResult(@in) is not null)
            {
                r.AddError("give --at or --in, not both");
            }
        });
        command.SetAction((r, _) =>
        {
            DateTimeOffset? runAt = r.GetValue(at) ?? (r.GetValue(@in) is { } delay ? TimeProvider.System.GetUtcNow() + delay : null);
            return EnqueueCommand.ExecuteAsync(new EnqueueCommand.Arguments(
                r.GetValue(type)!, r.GetValue(payload), r.GetValue(jobId), r.GetValue(from), r.GetValue(idField), r.GetValue(batchSize))
            {
                RunAt = runAt,
                Priority = r.GetValue(priority),
            });
        });
        return command;
    }

    private static Command Cancel()
    {
        var type = new Argument<string>("type") { Description = "the job type" };
        var jobId = new Argument<string>("job-id") { Description = "the job's id" };
        var command = new Command("cancel", "cancel a job: one not started never runs, a running one is stopped (exit 4: it had finished)")
        {
            type, jobId,
        };
        command.SetAction((r, _) => CancelCommand.ExecuteAsync(r.GetValue(type)!, r.GetValue(jobId)!));
        return command;
    }

    private static Command Stats()
    {
        var (json, type) = (Json(), JobType());
        var command = new Command("stats", "per job type, partition and lane: length, lag, pending, consumers, dead letters, delayed, cancelled")
        {
            json, type,
        };
        command.SetAction((r, _) => StatsCommand.ExecuteAsync(r.GetValue(json), r.GetValue(type)));
        return command;
    }

    private static Command Pending()
    {
        var (json, type, count) = (Json(), JobType(), Positive("--count", "entries listed at most", PendingCommand.DefaultCount));
        var command = new Command("pending", "entries delivered and not acked, per consumer, with idle time and delivery count")
        {
            json, type, count,
        };
        command.SetAction((r, _) => PendingCommand.ExecuteAsync(r.GetValue(json), r.GetValue(type), r.GetValue(count)));
        return command;
    }

    private static Command Schedules()
    {
        var json = Json();
        var command = new Command("schedules", "each recurring schedule: type, cron, time zone, last occurrence enqueued, next one") { json };
        command.SetAction((r, _) => SchedulesCommand.ExecuteAsync(r.GetValue(json)));
        return command;
    }

    private static Command Dlq()
    {
        var command = new Command("dlq", "dead letters: list, show, replay, purge");
        command.Subcommands.Add(DlqVerb("list", "dead letters, newest first, with all their fields", list: true));
        command.Subcommands.Add(DlqVerb("replay", "move matching dead letters back to their stream (job id kept, attempts from zero)", dryRun: true, rate: true));
        command.Subcommands.Add(DlqVerb("purge", "delete matching dead letters", dryRun: true));

        var id = new Argument<string>("id") { Description = "the dead letter's id, or the job id" };
        var type = JobType();
        var show = new Command("show", "one dead letter as JSON") { id, type };
        show.SetAction((r, _) => DlqCommand.ExecuteAsync(
            "show", r.GetValue(id), r.GetValue(type), new DeadLetterFilter(null, null, null, new HashSet<string>()), 0, 0, 0, json: true, dryRun: false));
        command.Subcommands.Add(show);
        return command;
    }

    /// <summary>A dlq verb that takes the filters (<c>--type --error --since --until --id</c>) and its own options.</summary>
    private static Command DlqVerb(string name, string description, bool list = false, bool dryRun = false, bool rate = false)
    {
        var now = TimeProvider.System.GetUtcNow();
        var type = JobType();
        var error = new Option<string?>("--error") { Description = "in the error type or message", HelpName = "TEXT" };
        var since = Parsed<DateTimeOffset?>("--since", "failed at or after WHEN (ISO 8601 or an age: 30m, 2h, 1d)", "WHEN", text => When(text, now));
        var until = Parsed<DateTimeOffset?>("--until", "failed at or before WHEN", "WHEN", text => When(text, now));
        var ids = new Option<string[]>("--id") { Description = "a dead-letter id or job id (repeatable)", HelpName = "ID" };
        var command = new Command(name, description) { type, error, since, until, ids };
        var json = Json();
        var count = Positive("--count", "dead letters listed at most", DlqCommand.DefaultCount);
        var limit = Positive("--limit", "dead letters handled at most", int.MaxValue);
        var perSecond = Positive("--rate", "dead letters moved a second", DlqCommand.DefaultRate);
        var dry = new Option<bool>("--dry-run") { Description = "say what would be done, do nothing" };
        if (list)
        {
            command.Options.Add(json);
            command.Options.Add(count);
        }
        else
        {
            command.Options.Add(limit);
            command.Options.Add(dry);
        }

        if (rate)
        {
            command.Options.Add(perSecond);
        }

        command.SetAction((r, _) => DlqCommand.ExecuteAsync(
            name, null, r.GetValue(type),
            new DeadLetterFilter(r.GetValue(error), r.GetValue(since), r.GetValue(until), (r.GetValue(ids) ?? []).ToHashSet(StringComparer.Ordinal)),
            r.GetValue(count), r.GetValue(perSecond), r.GetValue(limit), r.GetValue(json), r.GetValue(dry)));
        return command;
    }

    private static Command Extract()
    {
        var url = new Option<string?>("--url") { Description = "the page's address", HelpName = "URL" };
        var html = new Option<string?>("--html") { Description = "with --url: read the page from FILE, fetch nothing", HelpName = "FILE" };
        var batch = new Option<string?>("--batch") { Description = "one JSON line per url<TAB>path line of FILE", HelpName = "FILE" };
        var rounds = Positive("--rounds", "with --batch: time this many rounds instead of printing", 0);
        var command = new Command("extract", "the preview JSON of a page, without Redis or PostgreSQL") { url, html, batch, rounds };
        command.Validators.Add(r =>
        {
            if ((r.GetResult(url) is null) == (r.GetResult(batch) is null))
            {
                r.AddError("give --url or --batch, one of them");
            }
            else if (r.GetResult(url) is { } given && !Uri.TryCreate(given.GetValueOrDefault<string>(), UriKind.Absolute, out _))
            {
                r.AddError("--url must be an absolute address");
            }
        });
        command.SetAction((r, _) => ExtractCommand.ExecuteAsync(r.GetValue(url), r.GetValue(html), r.GetValue(batch), r.GetValue(rounds)));
        return command;
    }

    private static Option<bool> Json() => new("--json") { Description = "JSON instead of a table" };

    private static Option<string?> JobType() => new("--type") { Description = "only this job type", HelpName = "T" };

    /// <summary>A positive integer option; <paramref name="fallback"/> when absent (0: none).</summary>
    private static Option<int> Positive(string name, string description, int fallback) =>
        Parsed(name, description, "N", text => int.TryParse(text, out var n) && n > 0 ? (n, null) : (0, $"{name} must be a positive integer (was '{text}')"), fallback);

    /// <summary>An option whose text <paramref name="parse"/> turns into a value, or into the problem it reports.</summary>
    private static Option<T> Parsed<T>(string name, string description, string helpName, Func<string, (T Value, string? Problem)> parse, T fallback = default!) =>
        new(name)
        {
            Description = description,
            HelpName = helpName,
            DefaultValueFactory = _ => fallback,
            CustomParser = r =>
            {
                var (value, problem) = parse(r.Tokens.Count > 0 ? r.Tokens[0].Value : string.Empty);
                if (problem is not null)
                {
                    r.AddError(problem);
                }

                return value;
            },
        };

    private static (DateTimeOffset?, string?) When(string text, DateTimeOffset now)
    {
        try
        {
            return (DeadLetterFilter.When(text, now), null);
        }
        catch (ArgumentException e)
        {
            return (null, e.Message);
        }
    }
}
