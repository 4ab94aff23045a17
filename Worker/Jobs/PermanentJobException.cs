namespace Worker.Jobs;

/// <summary>The job can never succeed: it goes to the dead-letter stream with <see cref="Reason"/> at once.</summary>
internal sealed class PermanentJobException(string reason, string message, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>A stable machine-readable reason, e.g. <c>malformed_payload</c>.</summary>
    public string Reason { get; } = reason;
}
