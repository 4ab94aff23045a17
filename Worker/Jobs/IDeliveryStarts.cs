namespace Worker.Jobs;

/// <summary>
/// Without job state, how often a redelivered entry really started (a hash beside the stream,
/// <see cref="JobTypeSettings.StartsKey"/>): what tells a job that crashes its workers from one that was only held.
/// </summary>
internal interface IDeliveryStarts
{
    Task<long> StartsAsync(string entryId);

    Task RecordStartAsync(string entryId);
}
