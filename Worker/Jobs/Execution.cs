namespace Worker.Jobs;

/// <summary>
/// How one delivery's execution ended for the consumer: its outcome, or, for a success whose row is still being
/// written, the write that gives the outcome. The slot goes on to the next job meanwhile; the entry keeps its place
/// among those this consumer holds, and is acked once the row is committed.
/// </summary>
internal readonly record struct Execution(DeliveryOutcome Outcome, Task<DeliveryOutcome>? Recording = null)
{
    public static implicit operator Execution(DeliveryOutcome outcome) => new(outcome);
}
