namespace Worker.Events;

internal sealed record JobEventData(
    string JobId,
    string JobType,
    string EntryId,
    int Attempt,
    DateTimeOffset At,
    string? ErrorType = null,
    string? Error = null,
    DateTimeOffset? RetryAt = null);
