using System.Globalization;
using System.Text;
using System.Text.Json;
using StackExchange.Redis;
using Worker.Streams;

namespace Worker.Jobs;

/// <summary>A job as it travels in a stream entry (the README's wire format), validated.</summary>
internal sealed record JobEnvelope(
    string Type,
    string Payload,
    string JobId,
    string EntryId,
    int Attempt,
    DateTimeOffset? EnqueuedAt,
    string? TraceParent,
    NameValueEntry[] Fields)
{
    /// <summary>Largest payload accepted: 1 MiB of UTF-8. A larger one is dead-lettered, not parsed.</summary>
    public const int MaxPayloadBytes = 1 << 20;

    /// <summary>Reads and checks an entry; on failure gives a stable reason and a message for the dead letter.</summary>
    public static bool TryParse(StreamEntry entry, out JobEnvelope envelope, out string reason, out string message)
    {
        envelope = null!;
        string? type = null, payload = null, jobId = null, enqueuedAt = null, traceParent = null, attempt = null;
        foreach (var field in entry.Values)
        {
            switch ((string?)field.Name)
            {
                case StreamFields.Type: type = field.Value; break;
                case StreamFields.Payload: payload = field.Value; break;
                case StreamFields.JobId: jobId = field.Value; break;
                case StreamFields.EnqueuedAt: enqueuedAt = field.Value; break;
                case StreamFields.TraceParent: traceParent = field.Value; break;
                case StreamFields.Attempt: attempt = field.Value; break;
            }
        }

        var entryId = entry.Id.ToString();
        (reason, message) = (string.Empty, string.Empty);
        if (string.IsNullOrWhiteSpace(type))
        {
            (reason, message) = ("malformed_entry", "the entry has no 'type' field");
            return false;
        }

        if (payload is null)
        {
            (reason, message) = ("malformed_entry", "the entry has no 'payload' field");
            return false;
        }

        if (Encoding.UTF8.GetByteCount(payload) > MaxPayloadBytes)
        {
            (reason, message) = ("payload_too_large", $"the payload exceeds {MaxPayloadBytes} bytes");
            return false;
        }

        if (!IsJson(payload, out var jsonError))
        {
            (reason, message) = ("malformed_payload", $"the payload is not valid JSON: {jsonError}");
            return false;
        }

        var attemptNumber = 1;
        if (attempt is not null && (!int.TryParse(attempt, NumberStyles.None, CultureInfo.InvariantCulture, out attemptNumber) || attemptNumber < 1))
        {
            (reason, message) = ("malformed_entry", "the 'attempt' field is not a positive integer");
            return false;
        }

        DateTimeOffset? enqueued = long.TryParse(enqueuedAt, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;
        envelope = new JobEnvelope(
            type, payload, string.IsNullOrEmpty(jobId) ? entryId : jobId, entryId, attemptNumber, enqueued, traceParent, entry.Values);
        return true;
    }

    private static bool IsJson(string payload, out string error)
    {
        try
        {
            using var _ = JsonDocument.Parse(payload);
            error = string.Empty;
            return true;
        }
        catch (JsonException e)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>The fields of the next attempt: the original ones with <c>job_id</c> pinned and <c>attempt</c> set.</summary>
    public NameValueEntry[] FieldsForAttempt(int nextAttempt)
    {
        var fields = new List<NameValueEntry>(Fields.Length + 2);
        foreach (var f in Fields)
        {
            if (f.Name != StreamFields.Attempt && f.Name != StreamFields.JobId)
            {
                fields.Add(f);
            }
        }

        fields.Add(new NameValueEntry(StreamFields.JobId, JobId));
        fields.Add(new NameValueEntry(StreamFields.Attempt, nextAttempt.ToString(CultureInfo.InvariantCulture)));
        return [.. fields];
    }
}
