namespace Worker.Persistence;

/// <summary>
/// The observable effect of a <c>noop</c> job asked to have one. Deliberately without a unique key on the job:
/// a second row for one job would be a duplicate effect, which the effects-once guard must prevent, and tests count.
/// </summary>
internal sealed class NoopEffect
{
    public long Id { get; set; }
    public required string JobId { get; set; }
    public required string Consumer { get; set; }
    public DateTimeOffset AppliedAt { get; set; }
}
