using Microsoft.Extensions.Hosting;
using Worker.Hosting;

namespace Worker.Admin;

/// <summary><c>run</c>: the worker service itself, until SIGTERM or Ctrl-C, then a drain and exit 0.</summary>
internal static class RunCommand
{
    public static Task<int> ExecuteAsync() =>
        WorkerHost.RunAsync(WorkerHost.CreateBuilder(consumers: true), async host =>
        {
            await host.RunAsync();
            return ExitCodes.Ok;
        });
}
