namespace Worker.Persistence;

/// <summary><c>posts(id, section_id)</c>, the seeds' backend schema.</summary>
internal sealed class Post
{
    public Guid Id { get; set; }
    public Guid SectionId { get; set; }
}
