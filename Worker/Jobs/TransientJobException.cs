namespace Worker.Jobs;

/// <summary>The job may succeed later; <see cref="RetryAfter"/> overrides the backoff when the remote side asked for it.</summary>
internal sealed class TransientJobException(string reason, string message, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    public string Reason { get; } = reason;

    public TimeSpan? RetryAfter { get; } = retryAfter;
}
