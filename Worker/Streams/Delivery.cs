using StackExchange.Redis;

namespace Worker.Streams;

/// <summary>An entry this consumer owns, with how often Redis has delivered it (1 for a first read).</summary>
internal readonly record struct Delivery(StreamEntry Entry, long DeliveryCount)
{
    public string Id => Entry.Id.ToString();
}
