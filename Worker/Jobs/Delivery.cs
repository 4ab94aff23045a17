using StackExchange.Redis;

namespace Worker.Jobs;

/// <summary>
/// An entry this consumer owns, with how often Redis has delivered it (1 for a first read), and, with job state, the
/// look made for its read: the job ids of the read that already succeeded (<see cref="Jobs.JobExecutor.LookUpSucceeded"/>).
/// </summary>
internal readonly record struct Delivery(StreamEntry Entry, long DeliveryCount, Task<HashSet<string>>? Succeeded = null)
{
    /// <summary>The entry id as text, decoded once: the owned set, the acker and the logs all key on it.</summary>
    public string Id { get; } = Entry.Id.ToString();
}
