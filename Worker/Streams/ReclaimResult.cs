using Worker.Jobs;
namespace Worker.Streams;

/// <summary>Entries claimed from dead consumers, and the ids that were pending but gone from the stream.</summary>
internal sealed record ReclaimResult(IReadOnlyList<Delivery> Claimed, IReadOnlyList<string> DeletedIds);
