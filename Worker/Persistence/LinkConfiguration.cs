using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Worker.Persistence;

internal sealed class LinkConfiguration : IEntityTypeConfiguration<Link>
{
    public void Configure(EntityTypeBuilder<Link> builder)
    {
        builder.ToTable("links");
        builder.HasKey(l => l.Id);
        builder.Property(l => l.Id).HasColumnName("id");
        builder.Property(l => l.PostId).HasColumnName("post_id");
        builder.Property(l => l.Url).HasColumnName("url");
        builder.Property(l => l.Metadata).HasColumnName("metadata").HasColumnType("jsonb");
        builder.Property(l => l.UpdatedAt).HasColumnName("updated_at");
    }
}
