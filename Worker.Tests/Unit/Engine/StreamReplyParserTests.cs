using StackExchange.Redis;
using Worker.Streams;

namespace Worker.Tests.Unit.Engine;

[TestFixture]
public sealed class StreamReplyParserTests
{
    private static RedisResult Entry(string id, params string[] fields) =>
        RedisResult.Create([RedisResult.Create((RedisValue)id), RedisResult.Create(fields.Select(f => (RedisValue)f).ToArray())]);

    [Test]
    public void ParseReadReply_Resp2ArrayOfStreams_ReturnsEntriesWithFields()
    {
        var entries = RedisResult.Create([Entry("1-0", "type", "noop", "payload", "{}"), Entry("2-0", "type", "noop")]);
        var reply = RedisResult.Create([RedisResult.Create([RedisResult.Create((RedisValue)"jobs:{noop}"), entries])]);

        var parsed = StreamReplyParser.ParseReadReply(reply);

        Assert.That(parsed.Select(e => e.Id.ToString()), Is.EqualTo(new[] { "1-0", "2-0" }));
        Assert.That(parsed[0].Values.Select(v => $"{v.Name}={v.Value}"), Is.EqualTo(new[] { "type=noop", "payload={}" }));
    }

    [Test]
    public void ParseReadReply_Resp3MapFlattenedToKeyThenEntries_ReturnsEntries()
    {
        var entries = RedisResult.Create([Entry("5-1", "type", "noop")]);
        var reply = RedisResult.Create([RedisResult.Create((RedisValue)"jobs:{noop}"), entries], ResultType.Map);

        var parsed = StreamReplyParser.ParseReadReply(reply);

        Assert.That(parsed.Single().Id.ToString(), Is.EqualTo("5-1"));
    }

    [Test]
    public void ParseReadReply_NullReplyAfterBlockTimeout_ReturnsNoEntries()
    {
        Assert.That(StreamReplyParser.ParseReadReply(RedisResult.Create(RedisValue.Null)), Is.Empty);
    }

    [Test]
    public void ParseEntries_DeletedEntryWithNilFields_ReturnsEntryWithoutFields()
    {
        var deleted = RedisResult.Create([RedisResult.Create((RedisValue)"3-0"), RedisResult.Create(RedisValue.Null)]);

        var parsed = StreamReplyParser.ParseEntries(RedisResult.Create([deleted]));

        Assert.That(parsed.Single().Values, Is.Empty);
    }
}
