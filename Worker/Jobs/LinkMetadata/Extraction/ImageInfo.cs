namespace Worker.Jobs.LinkMetadata.Extraction;

internal sealed record ImageInfo(string Url, int? Width = null, int? Height = null, string? Alt = null);
