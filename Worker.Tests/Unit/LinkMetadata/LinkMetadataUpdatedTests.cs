using System.Text.Json;
using Worker.Jobs.LinkMetadata;

namespace Worker.Tests.Unit.LinkMetadata;

/// <summary>The event carries the stored preview JSON as an object, written as it is, not parsed and serialized again.</summary>
[TestFixture]
public sealed class LinkMetadataUpdatedTests
{
    private static readonly Guid PostId = Guid.Parse("11111111-1111-1111-1111-111111111111");
    private static readonly Guid LinkId = Guid.Parse("22222222-2222-2222-2222-222222222222");

    private static string Serialize(string metadata) =>
        JsonSerializer.Serialize(LinkMetadataUpdated.Create(PostId, LinkId, metadata), LinkMetadataJsonContext.Default.LinkMetadataUpdated);

    [Test]
    public void Serialize_EmbedsTheStoredJsonAsAnObject()
    {
        const string metadata = """{"title":"A \"quoted\" title","image":null,"tags":["x","y"]}""";

        var json = Serialize(metadata);

        Assert.That(json, Is.EqualTo(
            """{"type":"link_metadata_updated","data":{"post_id":"11111111-1111-1111-1111-111111111111","link_id":"22222222-2222-2222-2222-222222222222","metadata":"""
            + metadata + "}}"));
        using var document = JsonDocument.Parse(json);
        Assert.That(document.RootElement.GetProperty("data").GetProperty("metadata").GetProperty("title").GetString(), Is.EqualTo("A \"quoted\" title"));
    }

    [Test]
    public void Serialize_BrokenStoredJson_Throws()
    {
        Assert.That(() => Serialize("""{"title":"""), Throws.InstanceOf<ArgumentException>().Or.InstanceOf<JsonException>());
    }
}
