using System.Text.Json.Serialization;

namespace Worker.Jobs.LinkMetadata;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(LinkMetadataPayload))]
[JsonSerializable(typeof(LinkMetadataUpdated))]
[JsonSerializable(typeof(OEmbedResponse))]
internal sealed partial class LinkMetadataJsonContext : JsonSerializerContext;
