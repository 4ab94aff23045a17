namespace Worker.Jobs.LinkMetadata.Extraction;

/// <summary>A player: <see cref="Url"/> to frame, and ready <see cref="Html"/> (an iframe) when known.</summary>
internal sealed record EmbedInfo(string Provider, string Type, string Url, string? Html = null, int? Width = null, int? Height = null);
