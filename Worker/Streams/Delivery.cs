using StackExchange.Redis;

namespace Worker.Streams;

/// <summary>An entry this consumer owns, with how often Redis has delivered it (1 for a first read).</summary>
internal readonly record struct Delivery(StreamEntry Entry, long DeliveryCount)
{
    /// <summary>The entry id as text, decoded once: the owned set, the acker and the logs all key on it.</summary>
    public string Id { get; } = Entry.Id.ToString();
}
