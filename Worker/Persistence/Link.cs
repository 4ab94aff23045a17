namespace Worker.Persistence;

/// <summary><c>links(id, post_id, url, metadata jsonb, updated_at)</c>, the seeds' backend schema.</summary>
internal sealed class Link
{
    public Guid Id { get; set; }
    public Guid PostId { get; set; }
    public required string Url { get; set; }
    /// <summary>The preview as JSON text, stored as <c>jsonb</c>.</summary>
    public string? Metadata { get; set; }
    public DateTimeOffset? UpdatedAt { get; set; }
}
