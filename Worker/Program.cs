using Worker.Admin;
using Worker.Hosting;

namespace Worker;

/// <summary>One executable: the worker service (<c>run</c>, the default) and its admin verbs.</summary>
internal static class Program
{
    private const string Usage = """
        usage: Worker [verb]
          run                                   run the worker service (default)
          migrate                               apply the database migrations
          enqueue <type> <payload-json> [--job-id ID] [--at WHEN | --in DURATION] [--priority high|normal|low]
          enqueue <type> --from FILE|- [--job-id-field NAME] [--batch-size N] [--at WHEN | --in DURATION] [--priority P]
                                                one JSON payload a line
          cancel <type> <job-id>                a waiting job never runs, a running one is stopped
          stats [--json] [--type T]             per job type: length, lag, pending, consumers, dead letters
          pending [--json] [--type T] [--count N]  entries delivered and not acked, per consumer
          schedules [--json]                    recurring schedules: cron, last and next occurrence
          dlq list|show|replay|purge ...        dead letters (Worker dlq for the options)
          extract --url URL [--html FILE]       the preview JSON of a page (with --html nothing is fetched)
          extract --batch FILE                  one JSON line per "url<TAB>path" line
        configuration: appsettings.json, then environment variables (Worker__Jobs__noop__Enabled=true)
        """;

    public static async Task<int> Main(string[] args)
    {
        var verb = args.Length == 0 ? "run" : args[0];
        var rest = args.Skip(1).ToArray();
        try
        {
            return verb switch
            {
                "run" => await RunCommand.ExecuteAsync(),
                "migrate" => await MigrateCommand.ExecuteAsync(),
                "enqueue" => await EnqueueCommand.ExecuteAsync(rest),
                "cancel" => await CancelCommand.ExecuteAsync(rest),
                "stats" => await StatsCommand.ExecuteAsync(rest),
                "dlq" => await DlqCommand.ExecuteAsync(rest),
                "pending" => await PendingCommand.ExecuteAsync(rest),
                "schedules" => await SchedulesCommand.ExecuteAsync(rest),
                "extract" => await ExtractCommand.ExecuteAsync(rest),
                "help" or "--help" or "-h" => PrintUsage(ExitCodes.Ok),
                _ => PrintUsage(ExitCodes.Usage),
            };
        }
        catch (Exception e)
        {
            var cause = e.InnerException is { } inner ? $" ({inner.GetType().Name}: {inner.Message})" : string.Empty;
            Console.Error.WriteLine($"{verb}: {e.GetType().Name}: {e.Message}{cause}");
            return ExitCodes.Failure;
        }
    }

    private static int PrintUsage(int code)
    {
        (code == ExitCodes.Ok ? Console.Out : Console.Error).WriteLine(Usage);
        return code;
    }
}
