using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Worker.Hosting;
using Worker.Persistence;

namespace Worker.Admin;

/// <summary><c>migrate</c>: applies the EF Core migrations, an explicit step before <c>run</c>.</summary>
internal static class MigrateCommand
{
    public static Task<int> ExecuteAsync() =>
        WorkerHost.RunAsync(WorkerHost.CreateBuilder(consumers: false), async host =>
        {
            await using var scope = host.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<WorkerDbContext>();
            var pending = (await db.Database.GetPendingMigrationsAsync()).ToList();
            await db.Database.MigrateAsync();
            Console.Error.WriteLine(pending.Count == 0
                ? "migrate: the database is up to date"
                : $"migrate: applied {string.Join(", ", pending)}");
            return ExitCodes.Ok;
        });
}
