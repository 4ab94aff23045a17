using System.Text.Json;
using System.Text.Json.Serialization;

namespace Worker.Jobs.LinkMetadata;

/// <summary>The parts of an oEmbed answer the preview uses (width and height may come as numbers or strings).</summary>
internal sealed record OEmbedResponse(
    string? Type,
    string? Title,
    string? Html,
    string? ProviderName,
    string? ThumbnailUrl,
    [property: JsonPropertyName("width")] JsonElement? Width,
    [property: JsonPropertyName("height")] JsonElement? Height,
    string? AuthorName);
