namespace Worker.Jobs.LinkMetadata.Extraction;

/// <summary>What the page's JSON-LD says about its main entity.</summary>
internal sealed record JsonLdData(
    string? Type,
    string? Headline,
    string? Description,
    string? Image,
    string? Author,
    string? DatePublished,
    string? Publisher,
    string? PublisherLogo,
    string? Url,
    string? Language,
    string? EmbedUrl);
