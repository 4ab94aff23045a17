using System.Text;
using StackExchange.Redis;
using Worker.Streams;

namespace Worker.Tests.Unit.Engine;

[TestFixture]
public sealed class RespReplyReaderTests
{
    private static RespReplyReader Reader(string wire, int chunk = int.MaxValue) =>
        new(new ChunkedStream(Encoding.UTF8.GetBytes(wire), chunk));

    private static string Bulk(string text) => $"${Encoding.UTF8.GetByteCount(text)}\r\n{text}\r\n";

    private static string Entry(string id, params string[] fields) =>
        $"*2\r\n{Bulk(id)}*{fields.Length}\r\n{string.Concat(fields.Select(Bulk))}";

    private static string ReadReply(params string[] entries) =>
        $"*1\r\n*2\r\n{Bulk("jobs:{noop}")}*{entries.Length}\r\n{string.Concat(entries)}";

    [Test]
    public void ReadStreamEntries_OneStreamTwoEntries_ReturnsIdsAndFieldsInOrder()
    {
        var reader = Reader(ReadReply(Entry("1-0", "type", "noop", "payload", "{}", "custom", "é"), Entry("2-0", "type", "noop")));

        var entries = reader.ReadStreamEntries();

        Assert.That(entries.Select(e => e.Id.ToString()), Is.EqualTo(new[] { "1-0", "2-0" }));
        Assert.That(entries[0].Values.Select(v => $"{v.Name}={v.Value}"), Is.EqualTo(new[] { "type=noop", "payload={}", "custom=é" }));
        Assert.That(entries[1].Values, Has.Length.EqualTo(1));
    }

    [Test]
    public void ReadStreamEntries_RepliesArriveByteByByte_ParsesTheSame()
    {
        var reader = Reader(ReadReply(Entry("7-3", "type", "noop", "attempt", "2")), chunk: 1);

        var entry = reader.ReadStreamEntries().Single();

        Assert.That(entry.Id.ToString(), Is.EqualTo("7-3"));
        Assert.That(entry["attempt"].TryParse(out int attempt) && attempt == 2, Is.True);
    }

    [Test]
    public void ReadStreamEntries_PayloadLargerThanTheBuffer_ArrivesWhole()
    {
        var payload = $"{{\"text\":\"{new string('x', 300_000)}\"}}";
        var reader = Reader(ReadReply(Entry("1-0", "type", "noop", "payload", payload)), chunk: 4096);

        var entry = reader.ReadStreamEntries().Single();

        Assert.That((string?)entry["payload"], Is.EqualTo(payload));
    }

    [Test]
    public void ReadStreamEntries_NilAfterBlockTimeoutOrUnblock_ReturnsNoEntries()
    {
        Assert.That(Reader("*-1\r\n").ReadStreamEntries(), Is.Empty);
    }

    [Test]
    public void ReadStreamEntries_PendingEntryDeletedFromTheStream_HasNoFields()
    {
        var reader = Reader($"*1\r\n*2\r\n{Bulk("jobs:{noop}")}*1\r\n*2\r\n{Bulk("3-0")}*-1\r\n");

        Assert.That(reader.ReadStreamEntries().Single().Values, Is.Empty);
    }

    [Test]
    public void ReadStreamEntries_ErrorReply_ThrowsServerErrorAndTheNextReplyStillReads()
    {
        var reader = Reader($"-NOGROUP No such key 'jobs:{{noop}}'\r\n{ReadReply(Entry("4-0", "type", "noop"))}");

        var error = Assert.Throws<RedisServerException>(() => reader.ReadStreamEntries());

        Assert.That(error!.Message, Does.StartWith("NOGROUP"));
        Assert.That(reader.ReadStreamEntries().Single().Id.ToString(), Is.EqualTo("4-0"));
    }

    [Test]
    public void ReadStreamEntries_ConnectionClosedMidReply_ThrowsEndOfStream()
    {
        var whole = ReadReply(Entry("1-0", "type", "noop"));

        Assert.Throws<EndOfStreamException>(() => Reader(whole[..^5]).ReadStreamEntries());
    }

    [Test]
    public void ReadStreamEntries_UnexpectedReplyType_ThrowsInvalidData()
    {
        Assert.Throws<InvalidDataException>(() => Reader(":1\r\n").ReadStreamEntries());
    }

    [Test]
    public void ReadIntegerAndStatus_HandshakeReplies_ReadInOrder()
    {
        var reader = Reader("+OK\r\n:42\r\n");

        reader.ReadStatus();

        Assert.That(reader.ReadInteger(), Is.EqualTo(42));
    }

    /// <summary>A read-only stream that hands out at most <c>chunk</c> bytes per read, as a socket may.</summary>
    private sealed class ChunkedStream(byte[] data, int chunk) : Stream
    {
        private int _at;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _at; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(Math.Min(count, chunk), data.Length - _at);
            data.AsSpan(_at, n).CopyTo(buffer.AsSpan(offset));
            _at += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
