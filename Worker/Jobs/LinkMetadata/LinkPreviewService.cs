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
/// <remarks>
/// The oEmbed fetch gets what is left of the job's deadline minus <see cref="LinkMetadataOptions.OEmbedReserve"/>: a
/// slow or failing endpoint costs the player, never the page's own preview. Every URL stored passes
/// <see cref="RenderableUrl"/>; a dropped one is logged at debug.
/// </remarks>
internal sealed partial class LinkPreviewService(
    LinkFetcher fetcher, IOptions<LinkMetadataOptions> options, IOptions<LinkFetcherOptions> fetcherOptions, TimeProvider time,
    ILogger<LinkPreviewService> logger) : IDisposable
{
    /// <summary>
    /// One extraction at a time per process: a tree is up to <see cref="ParseBudget.MaxNodes"/> nodes (about 80 MB at
    /// worst), and with it the worker's memory stays bounded whatever the job's <c>Concurrency</c>. Extraction is CPU
    /// work of a few milliseconds a page (the fetches, which take the time, still run side by side).
    /// </summary>
    private readonly SemaphoreSlim _extraction = new(1, 1);

    public void Dispose() => _extraction.Dispose();

    /// <param name="url">The link, already through <see cref="UrlPolicy"/>.</param>
    /// <param name="deadline">When the job's network work must be done (the token fires then too).</param>
    /// <param name="ct">Cancelled at <paramref name="deadline"/> or when the job stops.</param>
    public async Task<LinkPreview> PreviewAsync(Uri url, DateTimeOffset deadline, CancellationToken ct)
    {
        var allowLoopback = fetcherOptions.Value.AllowLoopback;
        var page = await fetcher.FetchPageAsync(url, ct);
        LinkPreview preview;
        await _extraction.WaitAsync(ct);
        try
        {
            preview = MetadataExtractor.Extract(page.Body.Span, page.ContentType, page.FinalUrl, page.LinkHeaders, allowLoopback, page.ContentLanguage);
        }
        finally
        {
            _extraction.Release();
        }

        if (options.Value.FetchOEmbed && preview.OEmbedUrl is { } endpoint && Uri.TryCreate(endpoint, UriKind.Absolute, out var oembedUri))
        {
            var budget = deadline - time.GetUtcNow() - options.Value.OEmbedReserve;
            if (budget > TimeSpan.Zero)
            {
                using var oembedDeadline = new CancellationTokenSource(budget, time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, oembedDeadline.Token);
                await AddOEmbedAsync(preview, oembedUri, allowLoopback, ct, linked.Token);
            }
            else
            {
                LogOEmbedFailed(logger, oembedUri.Host, "no time left before the job's deadline");
            }
        }

        foreach (var (field, dropped) in preview.DroppedUrls)
        {
            LogUrlDropped(logger, field, dropped);
        }

        return preview;
    }

    /// <param name="ct">The job's token: its cancellation ends the job.</param>
    /// <param name="budget">The oEmbed's own: its cancellation only ends the oEmbed.</param>
    private async Task AddOEmbedAsync(LinkPreview preview, Uri endpoint, bool allowLoopback, CancellationToken ct, CancellationToken budget)
    {
        try
        {
            var answer = await fetcher.FetchOEmbedAsync(endpoint, budget);
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
                if (RenderableUrl.IsSafe(thumbnail, httpsOnly: false, allowLoopback))
                {
                    (preview.Image, preview.Sources["image"]) = (new ImageInfo(thumbnail), "oembed");
                }
                else
                {
                    preview.DroppedUrls.Add(("oembed_thumbnail", thumbnail));
                }
            }

            // Third-party HTML is kept only when it is a plain https iframe: anything else could script the front end.
            if (preview.Embed is null && IframeSource(oembed.Html) is { } player)
            {
                if (RenderableUrl.IsSafe(player, httpsOnly: true, allowLoopback))
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
                else
                {
                    preview.DroppedUrls.Add(("oembed_iframe", player));
                }
            }
        }
        catch (Exception e) when (e is FetchException or JsonException)
        {
            // The page's own preview stands without its player.
            LogOEmbedFailed(logger, endpoint.Host, e.Message);
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            LogOEmbedFailed(logger, endpoint.Host, "no answer before the job's deadline");
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

    [LoggerMessage(EventId = 4103, EventName = "PreviewUrlDropped", Level = LogLevel.Debug,
        Message = "Dropped {Field} URL {Url} from the preview: not safe to render")]
    private static partial void LogUrlDropped(ILogger logger, string field, string url);
}
