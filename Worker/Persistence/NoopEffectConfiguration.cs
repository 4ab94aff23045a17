using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Worker.Persistence;

internal sealed class NoopEffectConfiguration : IEntityTypeConfiguration<NoopEffect>
{
    public void Configure(EntityTypeBuilder<NoopEffect> builder)
    {
        builder.ToTable("noop_effects");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Id).HasColumnName("id").UseIdentityAlwaysColumn();
        builder.Property(e => e.JobId).HasColumnName("job_id").HasMaxLength(200);
        builder.Property(e => e.Consumer).HasColumnName("consumer").HasMaxLength(200);
        builder.Property(e => e.AppliedAt).HasColumnName("applied_at");
        builder.HasIndex(e => e.JobId).HasDatabaseName("ix_noop_effects_job_id");
    }
}
