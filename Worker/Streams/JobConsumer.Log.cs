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



    [LoggerMessage(EventId = 1005, EventName = "ConsumerLoopError", Level = LogLevel.Error,
        Message = "Unexpected error in the {JobType} consumer at {MessageId}; the entry stays pending")]
    private static partial void LogLoopCrashed(ILogger logger, Exception error, string jobType, string messageId);



    [LoggerMessage(EventId = 1008, EventName = "EntriesReleased", Level = LogLevel.Information,
        Message = "Released {Count} unfinished {JobType} entries to peers")]
    private static partial void LogReleased(ILogger logger, int count, string jobType);

    [LoggerMessage(EventId = 1009, EventName = "ReleaseFailed", Level = LogLevel.Warning,
        Message = "Could not release {Count} unfinished {JobType} entries; peers reclaim them after the visibility timeout")]
    private static partial void LogReleaseFailed(ILogger logger, Exception error, int count, string jobType);






}
