using System.Buffers;
using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

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
    /// <summary>When the job may start at the earliest (<c>run_at</c>); null: at once.</summary>
    public DateTimeOffset? RunAt { get; init; }

    /// <summary>The lane the producer chose (<c>priority</c>); the stream the entry is in is what orders it.</summary>
    public JobPriority Priority { get; init; } = JobPriority.Normal;

    /// <summary>Largest payload accepted: 1 MiB of UTF-8. A larger one is dead-lettered, not parsed.</summary>
    public const int MaxPayloadBytes = 1 << 20;

    /// <summary>The last millisecond of year 9999: a later <c>enqueued_at</c> is ignored, not an error.</summary>
    private const long MaxUnixMilliseconds = 253_402_300_799_999;

    /// <summary>Reads and checks an entry; on failure gives a stable reason and a message for the dead letter.</summary>
    public static bool TryParse(StreamEntry entry, out JobEnvelope envelope, out string reason, out string message) =>
        TryParse(entry, entry.Id.ToString(), out envelope, out reason, out message);

    /// <summary>
    /// As <see cref="TryParse(StreamEntry, out JobEnvelope, out string, out string)"/> with the entry id already
    /// decoded. Field names are matched on their bytes and the payload is checked as UTF-8 before it is decoded, so
    /// a well-formed entry costs one string per field it keeps and nothing else.
    /// </summary>
    public static bool TryParse(StreamEntry entry, string entryId, out JobEnvelope envelope, out string reason, out string message)
    {
        envelope = null!;
        RedisValue type = RedisValue.Null, payload = RedisValue.Null, jobId = RedisValue.Null,
            enqueuedAt = RedisValue.Null, traceParent = RedisValue.Null, attempt = RedisValue.Null, runAt = RedisValue.Null,
            priority = RedisValue.Null;
        Span<byte> buffer = stackalloc byte[16];
        foreach (var field in entry.Values)
        {
            // The names of StreamFields, as bytes; longer names are none of ours.
            var length = field.Name.GetByteCount();
            if (length > buffer.Length)
            {
                continue;
            }

            field.Name.CopyTo(buffer);
            var name = buffer[..length];
            if (name.SequenceEqual("type"u8)) { type = field.Value; }
            else if (name.SequenceEqual("payload"u8)) { payload = field.Value; }
            else if (name.SequenceEqual("job_id"u8)) { jobId = field.Value; }
            else if (name.SequenceEqual("enqueued_at"u8)) { enqueuedAt = field.Value; }
            else if (name.SequenceEqual("traceparent"u8)) { traceParent = field.Value; }
            else if (name.SequenceEqual("attempt"u8)) { attempt = field.Value; }
            else if (name.SequenceEqual("run_at"u8)) { runAt = field.Value; }
            else if (name.SequenceEqual("priority"u8)) { priority = field.Value; }
        }

        (reason, message) = (string.Empty, string.Empty);
        var typeText = (string?)type;
        if (string.IsNullOrWhiteSpace(typeText))
        {
            (reason, message) = ("malformed_entry", "the entry has no 'type' field");
            return false;
        }

        if (payload.IsNull)
        {
            (reason, message) = ("malformed_entry", "the entry has no 'payload' field");
            return false;
        }

        var payloadLength = payload.GetByteCount();
        if (payloadLength > MaxPayloadBytes)
        {
            (reason, message) = ("payload_too_large", $"the payload exceeds {MaxPayloadBytes} bytes");
            return false;
        }

        if (!IsJson(payload, payloadLength, out var jsonError))
        {
            (reason, message) = ("malformed_payload", $"the payload is not valid JSON: {jsonError}");
            return false;
        }

        // Numbers arrive already parsed: the client stores a canonical integer reply as one.
        var attemptNumber = 1;
        if (!attempt.IsNull && (!attempt.TryParse(out attemptNumber) || attemptNumber < 1))
        {
            (reason, message) = ("malformed_entry", "the 'attempt' field is not a positive integer");
            return false;
        }

        DateTimeOffset? runAtTime = null;
        if (!runAt.IsNull)
        {
            if (!runAt.TryParse(out long runAtMs) || runAtMs is < 0 or > MaxUnixMilliseconds)
            {
                (reason, message) = ("malformed_entry", "the 'run_at' field is not Unix milliseconds");
                return false;
            }

            runAtTime = DateTimeOffset.FromUnixTimeMilliseconds(runAtMs);
        }

        var lane = JobPriority.Normal;
        if (!priority.IsNull && !JobPriorities.TryParse(priority, out lane))
        {
            (reason, message) = ("malformed_entry", "the 'priority' field is not high, normal or low");
            return false;
        }

        DateTimeOffset? enqueued = !enqueuedAt.IsNull && enqueuedAt.TryParse(out long ms) && ms is >= 0 and <= MaxUnixMilliseconds
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;
        var jobIdText = (string?)jobId;
        envelope = new JobEnvelope(
            typeText, (string)payload!, string.IsNullOrEmpty(jobIdText) ? entryId : jobIdText, entryId, attemptNumber, enqueued,
            (string?)traceParent, entry.Values) { RunAt = runAtTime, Priority = lane };
        return true;
    }

    /// <summary>The entry's <c>job_id</c> field when it has one (a job id of the producer's), else null.</summary>
    public static string? OwnJobId(StreamEntry entry)
    {
        foreach (var field in entry.Values)
        {
            if (field.Name == StreamFields.JobId && !field.Value.IsNullOrEmpty)
            {
                return field.Value;
            }
        }

        return null;
    }

    /// <summary>One forward pass of the reader over the bytes: validates without building a document.</summary>
    private static bool IsJson(RedisValue payload, int length, out string error)
    {
        byte[]? rented = null;
        Span<byte> bytes = length <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            payload.CopyTo(bytes);
            return IsJson(bytes[..length], out error);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static bool IsJson(ReadOnlySpan<byte> payload, out string error)
    {
        try
        {
            var reader = new Utf8JsonReader(payload);
            while (reader.Read())
            {
            }

            // An empty payload reads as no token at all: not a JSON document.
            if (reader.TokenType == JsonTokenType.None)
            {
                error = "the payload is empty";
                return false;
            }

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
