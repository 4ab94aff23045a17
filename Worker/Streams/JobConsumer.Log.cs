using Microsoft.Extensions.Logging;

namespace Worker.Streams;

internal sealed partial class JobConsumer
{
    [LoggerMessage(EventId = 1001, EventName = "ConsumerStarted", Level = LogLevel.Information,
        Message = "Consuming {JobType} from {StreamKey} as {ConsumerGroup}/{ConsumerName} with {Concurrency} slots")]
    private static partial void LogStarted(ILogger logger, string jobType, string streamKey, string consumerGroup, string consumerName, int concurrency);

    [LoggerMessage(EventId = 1002, EventName = "ConsumerStopped", Level = LogLevel.Information,
        Message = "Stopped consuming {JobType} as {ConsumerName}")]
    private static partial void LogStopped(ILogger logger, string jobType, string consumerName);

    [LoggerMessage(EventId = 1003, EventName = "ConsumerGroupMissing", Level = LogLevel.Warning,
        Message = "Stream {StreamKey} or its group {ConsumerGroup} disappeared (key deleted, Redis flushed or restarted empty); recreating the group")]
    private static partial void LogGroupMissing(ILogger logger, string streamKey, string consumerGroup);

    [LoggerMessage(EventId = 1004, EventName = "StreamReadFailed", Level = LogLevel.Warning,
        Message = "Reading {JobType} from {StreamKey} failed; trying again in {Backoff}")]
    private static partial void LogReadFailed(ILogger logger, Exception error, string jobType, string streamKey, TimeSpan backoff);

    [LoggerMessage(EventId = 1005, EventName = "ConsumerLoopError", Level = LogLevel.Error,
        Message = "Unexpected error in the {JobType} consumer at {MessageId}; the entry stays pending")]
    private static partial void LogLoopCrashed(ILogger logger, Exception error, string jobType, string messageId);



    [LoggerMessage(EventId = 1008, EventName = "EntriesReleased", Level = LogLevel.Information,
        Message = "Released {Count} unfinished {JobType} entries to peers")]
    private static partial void LogReleased(ILogger logger, int count, string jobType);

    [LoggerMessage(EventId = 1009, EventName = "ReleaseFailed", Level = LogLevel.Warning,
        Message = "Could not release {Count} unfinished {JobType} entries; peers reclaim them after the visibility timeout")]
    private static partial void LogReleaseFailed(ILogger logger, Exception error, int count, string jobType);

    [LoggerMessage(EventId = 1010, EventName = "MaintenanceFailed", Level = LogLevel.Warning,
        Message = "The {Step} step of the {JobType} consumer failed")]
    private static partial void LogMaintenanceFailed(ILogger logger, Exception error, string jobType, string step);


    [LoggerMessage(EventId = 1012, EventName = "PendingEntriesDeleted", Level = LogLevel.Error,
        Message = "{Count} pending entries of {StreamKey} were deleted from the stream before they finished (trimmed or XDEL); those jobs are lost: {MessageIds}")]
    private static partial void LogPendingDeleted(ILogger logger, int count, string streamKey, string messageIds);

    [LoggerMessage(EventId = 1013, EventName = "EntriesReclaimed", Level = LogLevel.Information,
        Message = "Reclaimed {Count} abandoned {JobType} entries as {ConsumerName}")]
    private static partial void LogReclaimed(ILogger logger, int count, string jobType, string consumerName);


    [LoggerMessage(EventId = 1014, EventName = "InlinePickupsPaused", Level = LogLevel.Debug,
        Message = "{Strikes} {JobType} pickups in a row held the reader's thread before their jobs' first await (the last {HeldMs:0.0} ms); for {Seconds} s pickups start on other threads")]
    private static partial void LogInlinePaused(ILogger logger, string jobType, int strikes, double heldMs, double seconds);
}
