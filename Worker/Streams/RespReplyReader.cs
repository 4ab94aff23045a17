using System.Buffers.Text;
using System.Text;
using StackExchange.Redis;
using Worker.Jobs;

namespace Worker.Streams;

/// <summary>
/// Reads RESP2 replies from a blocking stream on the caller's thread: the few shapes the socket reader needs (simple
/// strings, integers, errors and <c>XREADGROUP</c>'s array of streams). An error reply throws
/// <see cref="RedisServerException"/> and leaves the stream at the next reply; anything malformed throws
/// <see cref="InvalidDataException"/> and the connection must be dropped.
/// </summary>
internal sealed class RespReplyReader(Stream stream)
{
    private const int BufferSize = 64 * 1024;

    // Job entries repeat a handful of field names: each is decoded once per process, not once per entry.
    private static readonly RedisValue[] KnownNames =
    [
        StreamFields.Type, StreamFields.Payload, StreamFields.JobId, StreamFields.EnqueuedAt, StreamFields.TraceParent,
        StreamFields.Attempt,
    ];

    private static readonly byte[][] KnownNameBytes = [.. KnownNames.Select(n => Encoding.UTF8.GetBytes((string)n!))];

    private readonly byte[] _buffer = new byte[BufferSize];
    private int _start, _end;

    /// <summary>A status reply (<c>+OK</c>); an error reply throws.</summary>
    public void ReadStatus()
    {
        _ = ReadLine(out var kind);
        Expect(kind, '+');
    }

    /// <summary>An integer reply; an error reply throws.</summary>
    public long ReadInteger()
    {
        var line = ReadLine(out var kind);
        Expect(kind, ':');
        return ParseNumber(line);
    }

    /// <summary>An integer reply, or null for a status reply; an error reply throws.</summary>
    public long? ReadIntegerOrStatus()
    {
        var line = ReadLine(out var kind);
        if (kind == '+')
        {
            return null;
        }

        Expect(kind, ':');
        return ParseNumber(line);
    }

    /// <summary>
    /// <c>XREADGROUP</c>'s reply: nil when the block time ran out or the read was unblocked, else
    /// [[key, [[id, [field, value, ...]], ...]], ...]. A pending entry deleted from the stream has nil fields.
    /// </summary>
    public StreamEntry[] ReadStreamEntries()
    {
        var streams = ReadArrayLength();
        StreamEntry[] result = [];
        for (var s = 0; s < streams; s++)
        {
            ExpectLength(ReadArrayLength(), 2);
            SkipBulk();
            var entries = ReadEntries();
            result = result.Length == 0 ? entries : [.. result, .. entries];
        }

        return result;
    }

    private StreamEntry[] ReadEntries()
    {
        var count = ReadArrayLength();
        if (count <= 0)
        {
            return [];
        }

        var entries = new StreamEntry[count];
        for (var i = 0; i < count; i++)
        {
            ExpectLength(ReadArrayLength(), 2);
            var id = ReadBulkString();
            var flat = ReadArrayLength();
            if (flat > 0 && flat % 2 != 0)
            {
                throw new InvalidDataException($"an entry has {flat} field items, not pairs");
            }

            var fields = flat <= 0 ? [] : new NameValueEntry[flat / 2];
            for (var f = 0; f < fields.Length; f++)
            {
                var name = ReadName();
                fields[f] = new NameValueEntry(name, ReadBulkBytes());
            }

            entries[i] = new StreamEntry(id, fields);
        }

        return entries;
    }

    /// <summary>A field name: one of ours as a shared value, any other decoded.</summary>
    private RedisValue ReadName()
    {
        var length = ReadBulkLength();
        if (length < 0)
        {
            throw new InvalidDataException("a field name is nil");
        }

        if (length + 2 > _buffer.Length)
        {
            return ReadBulkBody(length);
        }

        Ensure(length + 2);
        var bytes = _buffer.AsSpan(_start, length);
        RedisValue name = RedisValue.Null;
        for (var k = 0; k < KnownNameBytes.Length && name.IsNull; k++)
        {
            if (bytes.SequenceEqual(KnownNameBytes[k]))
            {
                name = KnownNames[k];
            }
        }

        if (name.IsNull)
        {
            name = Encoding.UTF8.GetString(bytes);
        }

        Consume(length);
        return name;
    }

    private string ReadBulkString()
    {
        var length = ReadBulkLength();
        if (length < 0 || length + 2 > _buffer.Length)
        {
            throw new InvalidDataException($"an entry id of length {length}");
        }

        Ensure(length + 2);
        var text = Encoding.UTF8.GetString(_buffer, _start, length);
        Consume(length);
        return text;
    }

    private RedisValue ReadBulkBytes()
    {
        var length = ReadBulkLength();
        return length < 0 ? RedisValue.Null : ReadBulkBody(length);
    }

    /// <summary>A bulk string's body of any length (a payload may exceed the buffer) and its CRLF.</summary>
    private byte[] ReadBulkBody(int length)
    {
        var value = new byte[length];
        var copied = Math.Min(length, _end - _start);
        _buffer.AsSpan(_start, copied).CopyTo(value);
        _start += copied;
        while (copied < length)
        {
            var n = stream.Read(value, copied, length - copied);
            if (n == 0)
            {
                throw new EndOfStreamException("Redis closed the connection in the middle of a reply");
            }

            copied += n;
        }

        Ensure(2);
        Consume(0);
        return value;
    }

    private void SkipBulk()
    {
        var length = ReadBulkLength();
        if (length >= 0)
        {
            _ = ReadBulkBody(length);
        }
    }

    private int ReadBulkLength()
    {
        var line = ReadLine(out var kind);
        Expect(kind, '$');
        return checked((int)ParseNumber(line));
    }

    private int ReadArrayLength()
    {
        var line = ReadLine(out var kind);
        Expect(kind, '*');
        return checked((int)ParseNumber(line));
    }

    /// <summary>The next line without its type byte and CRLF; valid until the next read.</summary>
    private ReadOnlySpan<byte> ReadLine(out char kind)
    {
        while (true)
        {
            var lf = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (lf >= 1 && _buffer[_start + lf - 1] == '\r')
            {
                kind = (char)_buffer[_start];
                var line = _buffer.AsSpan(_start + 1, lf - 2);
                _start += lf + 1;
                if (kind == '-')
                {
                    // The whole error reply is consumed: the connection stays usable.
                    throw new RedisServerException(RedisErrorKind.Unknown, CommandFlags.None, Encoding.UTF8.GetString(line));
                }

                return line;
            }

            if (lf >= 0)
            {
                throw new InvalidDataException("a reply line does not end in CRLF");
            }

            Fill();
        }
    }

    /// <summary>Throws unless the line's type is <paramref name="expected"/>.</summary>
    private static void Expect(char kind, char expected)
    {
        if (kind != expected)
        {
            throw new InvalidDataException($"expected a '{expected}' reply, got '{kind}'");
        }
    }

    private static void ExpectLength(int length, int expected)
    {
        if (length != expected)
        {
            throw new InvalidDataException($"expected an array of {expected}, got {length}");
        }
    }

    private static long ParseNumber(ReadOnlySpan<byte> digits) =>
        Utf8Parser.TryParse(digits, out long value, out var used) && used == digits.Length
            ? value
            : throw new InvalidDataException($"'{Encoding.UTF8.GetString(digits)}' is not a number");

    /// <summary>Skips <paramref name="length"/> bytes already buffered and the CRLF after them.</summary>
    private void Consume(int length)
    {
        if (_buffer[_start + length] != '\r' || _buffer[_start + length + 1] != '\n')
        {
            throw new InvalidDataException("a bulk string does not end in CRLF");
        }

        _start += length + 2;
    }

    /// <summary>Reads until at least <paramref name="count"/> bytes are buffered (at most the buffer's size).</summary>
    private void Ensure(int count)
    {
        while (_end - _start < count)
        {
            Fill();
        }
    }

    private void Fill()
    {
        if (_start == _end)
        {
            (_start, _end) = (0, 0);
        }
        else if (_end == _buffer.Length)
        {
            if (_start == 0)
            {
                throw new InvalidDataException("a reply line is longer than the buffer");
            }

            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            (_start, _end) = (0, _end - _start);
        }

        var n = stream.Read(_buffer, _end, _buffer.Length - _end);
        if (n == 0)
        {
            throw new EndOfStreamException("Redis closed the connection");
        }

        _end += n;
    }
}
