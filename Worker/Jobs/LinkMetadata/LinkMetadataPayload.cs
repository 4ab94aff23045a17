using System.Text.Json.Serialization;

namespace Worker.Jobs.LinkMetadata;

/// <summary>The job's payload: <c>{"post_id": uuid, "link_id": uuid, "url": string}</c>.</summary>
internal sealed record LinkMetadataPayload(
    [property: JsonPropertyName("post_id")] Guid PostId,
    [property: JsonPropertyName("link_id")] Guid LinkId,
    [property: JsonPropertyName("url")] string Url);
