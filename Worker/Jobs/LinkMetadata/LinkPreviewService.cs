using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Worker.Jobs.LinkMetadata.Extraction;
using Worker.Jobs.LinkMetadata.Fetching;

namespace Worker.Jobs.LinkMetadata;

/// <summary>
/// A URL's preview: fetched safely, extracted, and completed from the page's oEmbed endpoint (fetched through the
/// same checks). No cache here: <see cref="PreviewCache"/> sits in front of it in the job.
/// </summary>
internal sealed partial class LinkPreviewService(
    LinkFetcher fetcher, IOptions<LinkMetadataOptions> options, ILogger<LinkPreviewService> logger)
{

    public async Task<LinkPreview> PreviewAsync(Uri url, CancellationToken ct)
    {
        var page = await fetcher.FetchPageAsync(url, ct);
        var preview = MetadataExtractor.Extract(page.Body.Span, page.ContentType, page.FinalUrl, page.LinkHeaders);
        if (options.Value.FetchOEmbed && preview.OEmbedUrl is { } endpoint && Uri.TryCreate(endpoint, UriKind.Absolute, out var oembedUri))
        {
            await AddOEmbedAsync(preview, oembedUri, ct);
        }

        return preview;
    }

    private async Task AddOEmbedAsync(LinkPreview preview, Uri endpoint, CancellationToken ct)
    {
        try
        {
            var answer = await fetcher.FetchOEmbedAsync(endpoint, ct);
            var oembed = JsonSerializer.Deserialize(answer.Body.Span, LinkMetadataJsonContext.Default.OEmbedResponse);
            if (oembed is null)
            {
                return;
            }

            if (preview.Title is null && TextCleaner.Clean(oembed.Title, TextCleaner.MaxTitle) is { } title)
            {
                (preview.Title, preview.Sources["title"]) = (title, "oembed");
            }

            if (preview.Image is null && TextCleaner.ResolveUrl(oembed.ThumbnailUrl, endpoint) is { } thumbnail)
            {
                (preview.Image, preview.Sources["image"]) = (new ImageInfo(thumbnail), "oembed");
            }

            // Third-party HTML is kept only when it is a plain https iframe: anything else could script the front end.
            if (preview.Embed is null && IframeSource(oembed.Html) is { } player)
            {
                preview.Embed = new EmbedInfo(
                    TextCleaner.Clean(oembed.ProviderName, TextCleaner.MaxShort) ?? endpoint.Host,
                    oembed.Type ?? "rich",
                    player,
                    oembed.Html,
                    Number(oembed.Width),
                    Number(oembed.Height));
                preview.Sources["embed"] = "oembed";
            }
        }
        catch (Exception e) when (e is FetchException or JsonException)
        {
            // The page's own preview stands without its player.
            LogOEmbedFailed(logger, endpoint.Host, e.Message);
        }
    }

    private static string? IframeSource(string? html)
    {
        if (html is null || html.Length > 4096)
        {
            return null;
        }

        var match = Iframe().Match(html.Trim());
        return match.Success && Uri.TryCreate(WebUtility.HtmlDecode(match.Groups["src"].Value), UriKind.Absolute, out var src) && src.Scheme == "https"
            ? src.AbsoluteUri
            : null;
    }

    private static int? Number(JsonElement? value) => value switch
    {
        { ValueKind: JsonValueKind.Number } n when n.TryGetInt32(out var i) => i,
        { ValueKind: JsonValueKind.String } s when int.TryParse(s.GetString(), out var i) => i,
        _ => null,
    };

    [GeneratedRegex("""^<iframe\s[^>]*\bsrc\s*=\s*["'](?<src>[^"']+)["'][^>]*>\s*</iframe>$""", RegexOptions.IgnoreCase)]
    private static partial Regex Iframe();

    [LoggerMessage(EventId = 4101, EventName = "OEmbedFailed", Level = LogLevel.Information,
        Message = "oEmbed from {Host} failed ({Error}); keeping the page's own preview")]
    private static partial void LogOEmbedFailed(ILogger logger, string host, string error);
}
