namespace Worker.Jobs.LinkMetadata.Fetching;

/// <summary>
/// A fetch that failed, classified. <see cref="Reason"/> is stable (<c>blocked_address</c>, <c>http_status_404</c>,
/// <c>timeout</c>...); the message is safe to show a user: it never tells whether an internal port was open.
/// </summary>
internal sealed class FetchException(string reason, bool transient, string message, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    public string Reason { get; } = reason;

    public bool IsTransient { get; } = transient;

    /// <summary>From a 429 or 503 <c>Retry-After</c>, when the server sent one.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;

    public static FetchException Blocked() =>
        new("blocked_address", transient: false, "the link points to an address that is not allowed");
}
