using System.Globalization;
using StackExchange.Redis;
using Worker.Jobs;

namespace Worker.Streams;

/// <summary>A dead-letter entry read back: the original job fields and the failure the worker recorded.</summary>
internal sealed record DeadLetter(string Stream, string Id, NameValueEntry[] Fields)
{
    private static readonly HashSet<string> FailureFields = new(StringComparer.Ordinal)
    {
        StreamFields.ErrorType, StreamFields.ErrorMessage, StreamFields.Attempts, StreamFields.FailedAt,
        StreamFields.Consumer, StreamFields.OriginalId, StreamFields.Attempt,
    };

    public string? Field(string name) => Fields.FirstOrDefault(f => f.Name == name).Value;

    public string JobId => Field(StreamFields.JobId) ?? Field(StreamFields.OriginalId) ?? Id;

    public string? ErrorType => Field(StreamFields.ErrorType);

    public string? ErrorMessage => Field(StreamFields.ErrorMessage);

    public DateTimeOffset? FailedAt =>
        long.TryParse(Field(StreamFields.FailedAt), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;

    /// <summary>The fields of a fresh job: the original ones, the job id kept, attempts starting over.</summary>
    public NameValueEntry[] ReplayFields()
    {
        var fields = Fields.Where(f => !FailureFields.Contains(f.Name!) && f.Name != StreamFields.JobId).ToList();
        fields.Add(new NameValueEntry(StreamFields.JobId, JobId));
        return [.. fields];
    }
}
