namespace Worker.Jobs.LinkMetadata.Fetching;

/// <summary>
/// What a fetch brought back. <see cref="Body"/> is empty for media and unsupported types, which are not downloaded;
/// <see cref="Truncated"/> says the body stopped at the size cap (the preview then comes from its beginning).
/// </summary>
internal sealed record FetchResult(
    Uri FinalUrl,
    int StatusCode,
    string? ContentType,
    ReadOnlyMemory<byte> Body,
    bool Truncated,
    IReadOnlyList<string> LinkHeaders,
    int Redirects,
    string? ContentLanguage = null);
