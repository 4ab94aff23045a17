using System.Collections;

namespace Worker.Jobs;

/// <summary>
/// The properties every log line inside a job carries (<c>JobId</c>, <c>JobType</c>, <c>MessageId</c>), whichever
/// logger writes it: Serilog reads a scope of key-value pairs into its log context.
/// </summary>
internal sealed class JobLogScope(string jobId, string jobType, string messageId) : IReadOnlyList<KeyValuePair<string, object>>
{
    public int Count => 3;

    public KeyValuePair<string, object> this[int index] => index switch
    {
        0 => new("JobId", jobId),
        1 => new("JobType", jobType),
        2 => new("MessageId", messageId),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"job {jobId} ({jobType}, entry {messageId})";
}
