using System.Text.Json;
using System.Text.Json.Serialization;

namespace Worker.Jobs.LinkMetadata;

/// <summary>
/// <c>{"type":"link_metadata_updated","data":{"post_id":...,"link_id":...,"metadata":{...}}}</c>, published after the
/// commit on the channel the strategy picks, as the seeds' backend does, so front ends update the preview live.
/// </summary>
internal sealed record LinkMetadataUpdated(string Type, LinkMetadataUpdatedData Data)
{
    public const string EventType = "link_metadata_updated";

    public static LinkMetadataUpdated Create(Guid postId, Guid linkId, string metadataJson) =>
        new(EventType, new LinkMetadataUpdatedData(postId, linkId, new RawJson(metadataJson)));
}

internal sealed record LinkMetadataUpdatedData(Guid PostId, Guid LinkId, RawJson Metadata);

/// <summary>
/// JSON already serialized (the preview as stored on the link row), written into the event as it is: checked by the
/// writer, not parsed into a document and serialized again.
/// </summary>
[JsonConverter(typeof(RawJsonConverter))]
internal readonly record struct RawJson(string Json);

internal sealed class RawJsonConverter : JsonConverter<RawJson>
{
    public override RawJson Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        return new RawJson(document.RootElement.GetRawText());
    }

    public override void Write(Utf8JsonWriter writer, RawJson value, JsonSerializerOptions options) => writer.WriteRawValue(value.Json);
}
