using Worker.Admin;
using Worker.Hosting;

namespace Worker;

/// <summary>One executable: the worker service (<c>run</c>, the default) and its admin verbs (<see cref="Cli"/>).</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        try
        {
            return await Cli.RunAsync(args);
        }
        catch (Exception e)
        {
            var verb = args.Length == 0 ? "run" : args[0];
            var cause = e.InnerException is { } inner ? $" ({inner.GetType().Name}: {inner.Message})" : string.Empty;
            Console.Error.WriteLine($"{verb}: {e.GetType().Name}: {e.Message}{cause}");
            return ExitCodes.Failure;
        }
    }
}
