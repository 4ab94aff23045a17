namespace Worker.Persistence;

/// <summary><c>sections(id)</c>, the seeds' backend schema.</summary>
internal sealed class Section
{
    public Guid Id { get; set; }
}
