using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Worker.Persistence;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without starting the host.</summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<WorkerDbContext>
{
    public WorkerDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<WorkerDbContext>()
            .UseNpgsql("Host=127.0.0.1;Database=design_time_only")
            .Options);
}
