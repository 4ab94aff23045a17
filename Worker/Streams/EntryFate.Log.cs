using Microsoft.Extensions.Logging;

namespace Worker.Streams;

internal sealed partial class EntryFate
{
    [LoggerMessage(EventId = 2001, EventName = "JobDeadLettered", Level = LogLevel.Warning,
        Message = "Job {JobId} ({JobType}, entry {MessageId}) dead-lettered: {Reason}: {Error}")]
    private static partial void LogDeadLettered(ILogger logger, string jobId, string jobType, string messageId, string reason, string error);

    [LoggerMessage(EventId = 2002, EventName = "JobRetryScheduled", Level = LogLevel.Information,
        Message = "Job {JobId} ({JobType}, entry {MessageId}) failed attempt {Attempt}: {Error}; retry at {RetryAt:O}")]
    private static partial void LogRetryScheduled(ILogger logger, Exception? exception, string jobId, string jobType, string messageId, int attempt, string error, DateTimeOffset retryAt);

    [LoggerMessage(EventId = 2003, EventName = "JobDuplicateSkipped", Level = LogLevel.Information,
        Message = "Job {JobId} ({JobType}, entry {MessageId}) already succeeded; acking the duplicate delivery")]
    private static partial void LogDuplicateSkipped(ILogger logger, string jobId, string jobType, string messageId);

    [LoggerMessage(EventId = 2004, EventName = "JobOwnershipLost", Level = LogLevel.Warning,
        Message = "Job {JobId} ({JobType}, entry {MessageId}) was reclaimed by a peer while it ran; leaving it to the peer")]
    private static partial void LogOwnershipLost(ILogger logger, string jobId, string jobType, string messageId);

    [LoggerMessage(EventId = 2006, EventName = "JobDelayed", Level = LogLevel.Debug,
        Message = "Job {JobId} ({JobType}, entry {MessageId}) runs at {RunAt:O}: moved to the delayed set until then")]
    private static partial void LogDelayed(ILogger logger, string jobId, string jobType, string messageId, DateTimeOffset runAt);

    [LoggerMessage(EventId = 2007, EventName = "JobCancelled", Level = LogLevel.Information,
        Message = "Job {JobId} ({JobType}, entry {MessageId}) is cancelled (running: {Running})")]
    private static partial void LogCancelled(ILogger logger, string jobId, string jobType, string messageId, bool running);
}
