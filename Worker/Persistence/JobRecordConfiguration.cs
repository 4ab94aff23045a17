using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Worker.Persistence;

internal sealed class JobRecordConfiguration : IEntityTypeConfiguration<JobRecord>
{
    public void Configure(EntityTypeBuilder<JobRecord> builder)
    {
        builder.ToTable("jobs");
        builder.HasKey(j => new { j.Type, j.Id });
        builder.Property(j => j.Type).HasColumnName("type").HasMaxLength(100);
        builder.Property(j => j.Id).HasColumnName("id").HasMaxLength(200);
        builder.Property(j => j.StreamEntryId).HasColumnName("stream_entry_id").HasMaxLength(64);
        builder.Property(j => j.Status).HasColumnName("status").HasMaxLength(20)
            .HasConversion(s => JobStatusText.ToText(s), s => JobStatusText.Parse(s));
        builder.Property(j => j.Attempts).HasColumnName("attempts");
        builder.Property(j => j.ProgressCurrent).HasColumnName("progress_current");
        builder.Property(j => j.ProgressTotal).HasColumnName("progress_total");
        builder.Property(j => j.ProgressMessage).HasColumnName("progress_message").HasMaxLength(500);
        builder.Property(j => j.LastError).HasColumnName("last_error").HasMaxLength(2000);
        builder.Property(j => j.CreatedAt).HasColumnName("created_at");
        builder.Property(j => j.UpdatedAt).HasColumnName("updated_at");
        builder.Property(j => j.FinishedAt).HasColumnName("finished_at");
        // Indexes only on columns a job's writes never change after its insert (key, created_at), with room left in
        // each page: the running → succeeded update is then a HOT update that rewrites no index. Retention finds its
        // rows through created_at (a job finishes after it is created).
        builder.HasIndex(j => j.CreatedAt).HasDatabaseName("ix_jobs_created_at");
        builder.HasStorageParameter("fillfactor", 70);
    }
}
