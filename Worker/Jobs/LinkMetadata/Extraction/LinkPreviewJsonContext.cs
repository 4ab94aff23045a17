using System.Text.Json.Serialization;

namespace Worker.Jobs.LinkMetadata.Extraction;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LinkPreview))]
internal sealed partial class LinkPreviewJsonContext : JsonSerializerContext;
