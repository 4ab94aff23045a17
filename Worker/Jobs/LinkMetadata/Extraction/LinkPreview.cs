namespace Worker.Jobs.LinkMetadata.Extraction;

/// <summary>
/// A link's preview, as stored in <c>links.metadata</c> and published to front ends. Every field is optional;
/// <see cref="Sources"/> says where each came from: <c>og</c>, <c>twitter</c>, <c>jsonld</c>, <c>microdata</c>,
/// <c>html</c>, <c>oembed</c> or <c>url</c>.
/// </summary>
internal sealed class LinkPreview
{
    /// <summary><c>html</c>, <c>image</c>, <c>audio</c>, <c>video</c>, or <c>unsupported</c> (nothing else is set then).</summary>
    public required string ContentKind { get; init; }

    public string? Title { get; set; }
    public string? Description { get; set; }
    public ImageInfo? Image { get; set; }
    public string? SiteName { get; set; }
    public string? Url { get; set; }
    public string? Type { get; set; }
    public string? Lang { get; set; }
    public string? Author { get; set; }
    public string? PublishedAt { get; set; }
    public string? Logo { get; set; }
    public string? Audio { get; set; }
    public string? Video { get; set; }
    public string? ThemeColor { get; set; }
    public EmbedInfo? Embed { get; set; }

    /// <summary>A discovered oEmbed endpoint, for the network step to fetch (through the same safe fetcher).</summary>
    public string? OEmbedUrl { get; set; }

    public Dictionary<string, string> Sources { get; init; } = new(StringComparer.Ordinal);

    /// <summary>URLs the page named that <see cref="RenderableUrl"/> kept out of the preview, by field: logged, never stored.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public List<(string Field, string Url)> DroppedUrls { get; } = [];
}
