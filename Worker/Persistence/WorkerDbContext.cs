using Microsoft.EntityFrameworkCore;

namespace Worker.Persistence;

internal sealed class WorkerDbContext(DbContextOptions<WorkerDbContext> options) : DbContext(options)
{
    public DbSet<JobRecord> Jobs => Set<JobRecord>();
    public DbSet<NoopEffect> NoopEffects => Set<NoopEffect>();
    public DbSet<Section> Sections => Set<Section>();
    public DbSet<Post> Posts => Set<Post>();
    public DbSet<Link> Links => Set<Link>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(WorkerDbContext).Assembly);
}
