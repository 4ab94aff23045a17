using System.Buffers;
using System.Globalization;
using System.Text.RegularExpressions;
using HtmlAgilityPack;

namespace Worker.Jobs.LinkMetadata.Extraction;

/// <summary>
/// The preview of a page: a pure function of the bytes, their content type and the URL they came from (after
/// redirects). No I/O. Per field the sources are tried in order: Open Graph, Twitter cards, JSON-LD, microdata, then
/// plain HTML; <see cref="LinkPreview.Sources"/> records which one answered. It never throws on bad input.
/// </summary>
internal static partial class MetadataExtractor
{
    /// <summary>Deeper nesting is cut off by the parser: pages with 100,000 unclosed tags must not blow the stack.</summary>
    private const int MaxNesting = 512;

    /// <param name="allowLoopback">Test-only, as the fetcher's: loopback URLs count as renderable (<see cref="RenderableUrl"/>).</param>
    /// <param name="contentLanguage">The response's <c>Content-Language</c> header, the language's last fallback.</param>
    public static LinkPreview Extract(
        ReadOnlySpan<byte> body, string? contentType, Uri finalUrl, IReadOnlyList<string>? linkHeaders = null, bool allowLoopback = false,
        string? contentLanguage = null)
    {
        var mediaType = MediaType(contentType);
        if (mediaType is not null && (mediaType.StartsWith("image/", StringComparison.Ordinal)
            || mediaType.StartsWith("audio/", StringComparison.Ordinal) || mediaType.StartsWith("video/", StringComparison.Ordinal)))
        {
            return FromMediaUrl(mediaType, finalUrl);
        }

        var isHtml = mediaType is "text/html" or "application/xhtml+xml" || (mediaType is null && LooksLikeHtml(body));
        if (!isHtml)
        {
            return new LinkPreview { ContentKind = "unsupported", Url = finalUrl.AbsoluteUri };
        }

        // Decoded into a pooled buffer: the parser's string is the only other copy of a large page.
        var (encoding, skip) = CharsetDetector.Detect(body, contentType);
        var bytes = body[skip..];
        var buffer = ArrayPool<char>.Shared.Rent(encoding.GetMaxCharCount(bytes.Length));
        PageSignals signals;
        try
        {
            var length = encoding.GetChars(bytes, buffer);
            var page = buffer.AsSpan(0, length);

            // Memory is bounded by design, not by the body cap: the parser builds at most ParseBudget.MaxNodes nodes,
            // from the page's beginning; JSON-LD past the cut is still read.
            var parsed = ParseBudget.Prefix(page);
            signals = PageSignals.Read(Parse(new string(page[..parsed]), bytes, encoding));
            if (parsed < page.Length)
            {
                signals.AddJsonLd(ParseBudget.JsonLdAfter(page[parsed..], PageSignals.MaxJsonLdBlocks));
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }

        return FromSignals(signals, finalUrl, linkHeaders ?? [], allowLoopback, contentLanguage);
    }

    /// <param name="page">The page's text, up to the parse budget.</param>
    /// <param name="body">The page's bytes and their encoding, decoded again for the rare page too deep to parse.</param>
    /// <param name="encoding">The page's encoding.</param>
    private static HtmlDocument Parse(string page, ReadOnlySpan<byte> body, System.Text.Encoding encoding)
    {
        // Ids are not looked up (no GetElementbyId): without them the parser keeps no id index, one dictionary write less a node.
        var document = new HtmlDocument
        {
            OptionMaxNestedChildNodes = MaxNesting, OptionDefaultStreamEncoding = System.Text.Encoding.UTF8, OptionUseIdAttribute = false,
        };
        try
        {
            document.LoadHtml(page);
            return document;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Too deep to parse whole: the head, where previews live, is still read (up to <body>, or up to the
            // point where the nesting could begin when there is no body tag). This rare path cuts the page as it came.
            var text = encoding.GetString(body);
            var head = document = new HtmlDocument { OptionMaxNestedChildNodes = MaxNesting };
            var cut = text.IndexOf("<body", StringComparison.OrdinalIgnoreCase);
            if (cut < 0)
            {
                cut = NthIndexOf(text, '<', MaxNesting / 2);
            }

            cut = Math.Min(cut, ParseBudget.Prefix(text));

            try
            {
                head.LoadHtml(cut > 0 ? text[..cut] : string.Empty);
            }
            catch (Exception inner) when (inner is not OutOfMemoryException)
            {
                head.LoadHtml(string.Empty);
            }

            return head;
        }
    }

    private static int NthIndexOf(string text, char c, int n)
    {
        var at = -1;
        for (var i = 0; i < n; i++)
        {
            at = text.IndexOf(c, at + 1);
            if (at < 0)
            {
                return text.Length;
            }
        }

        return at;
    }

    private static LinkPreview FromSignals(PageSignals s, Uri finalUrl, IReadOnlyList<string> linkHeaders, bool allowLoopback, string? contentLanguage)
    {
        var preview = new LinkPreview { ContentKind = "html" };
        var baseUri = TextCleaner.ResolveUrl(s.BaseHref, finalUrl) is { } b ? new Uri(b) : finalUrl;
        var ld = JsonLdReader.Read(s.JsonLd);

        // Every URL stored is one a reader's browser may load: an unsafe one is dropped (the next source may answer).
        string? Safe(string? url, string field, bool httpsOnly)
        {
            if (url is null || RenderableUrl.IsSafe(url, httpsOnly, allowLoopback))
            {
                return url;
            }

            if (!preview.DroppedUrls.Contains((field, url)))
            {
                preview.DroppedUrls.Add((field, url));
            }

            return null;
        }

        string? Url(string? raw) => Safe(TextCleaner.ResolveUrl(raw, baseUri), "url", httpsOnly: false);
        string? Player(string? raw) => Safe(TextCleaner.ResolveUrl(raw, baseUri), "embed", httpsOnly: true);
        string? Short(string? raw) => TextCleaner.Clean(raw, TextCleaner.MaxShort);

        preview.Title = Choose(preview, "title", v => IsUrl(v?.Trim()) ? null : TextCleaner.Clean(v, TextCleaner.MaxTitle),
            ("og", s.First("og:title")), ("twitter", s.First("twitter:title")), ("jsonld", ld?.Headline),
            ("microdata", s.Microdata.GetValueOrDefault("headline") ?? s.Microdata.GetValueOrDefault("name")),
            ("html", s.Title), ("html", s.FirstHeading));
        preview.Description = Choose(preview, "description", v => TextCleaner.Clean(v, TextCleaner.MaxDescription),
            ("og", s.First("og:description")), ("twitter", s.First("twitter:description")), ("jsonld", ld?.Description),
            ("microdata", s.Microdata.GetValueOrDefault("description")), ("html", s.First("description")), ("html", s.FirstParagraph));

        var imageUrl = Choose(preview, "image", v => HasMediaExtension(v ?? string.Empty) ? null : Url(v),
            ("og", s.First("og:image:secure_url") ?? s.First("og:image") ?? s.First("og:image:url")),
            ("twitter", s.First("twitter:image") ?? s.First("twitter:image:src")),
            ("jsonld", ld?.Image), ("microdata", s.Microdata.GetValueOrDefault("image")),
            ("html", s.Links.FirstOrDefault(l => l.HasRel("image_src"))?.Href),
            ("html", (s.Images.FirstOrDefault(i => i.InArticle) ?? s.Images.FirstOrDefault())?.Src), ("html", s.VideoPoster));
        if (imageUrl is not null)
        {
            var fromOg = preview.Sources["image"] == "og";
            var candidate = s.Images.FirstOrDefault(i => Url(i.Src) == imageUrl);
            preview.Image = new ImageInfo(
                imageUrl,
                fromOg ? Int(s.First("og:image:width")) : candidate?.Width,
                fromOg ? Int(s.First("og:image:height")) : candidate?.Height,
                Short(s.First("og:image:alt") ?? s.First("twitter:image:alt") ?? candidate?.Alt));
        }

        preview.SiteName = Choose(preview, "site_name", Short,
            ("og", s.First("og:site_name")), ("twitter", s.First("twitter:app:name:iphone")), ("jsonld", ld?.Publisher),
            ("microdata", s.Microdata.GetValueOrDefault("publisher")),
            ("html", s.First("publisher") ?? s.First("application-name") ?? s.First("apple-mobile-web-app-title")),
            ("html", SiteFromTitle(s.Title, s.First("og:title") ?? s.First("twitter:title") ?? s.FirstHeading)));
        preview.Url = Choose(preview, "url", Url,
            ("og", s.First("og:url")), ("twitter", s.First("twitter:url")), ("jsonld", ld?.Url),
            ("microdata", s.Microdata.GetValueOrDefault("url")),
            ("html", s.Links.FirstOrDefault(l => l.HasRel("canonical"))?.Href), ("url", finalUrl.AbsoluteUri));
        preview.Type = Choose(preview, "type", Short, ("og", s.First("og:type")), ("jsonld", ld?.Type));
        // The tag as the page gives it (BCP 47, case normalised): the html element's, then og:locale, then Content-Language.
        preview.Lang = Choose(preview, "lang", Language,
            ("html", s.HtmlLang), ("og", s.First("og:locale")), ("jsonld", ld?.Language), ("microdata", s.Microdata.GetValueOrDefault("inlanguage")),
            ("html", s.First("content-language") ?? s.First("language")), ("http", contentLanguage));
        preview.Author = Choose(preview, "author", Author,
            ("og", s.First("article:author")), ("jsonld", ld?.Author), ("microdata", Authors(s.MicrodataAuthors)),
            ("html", s.First("author") ?? s.First("byl") ?? s.First("dc.creator") ?? s.First("parsely-author") ?? s.First("sailthru.author")),
            ("html", Authors(s.BylineNames)));
        preview.PublishedAt = Choose(preview, "published_at", Date,
            ("og", s.First("article:published_time") ?? s.First("og:published_time")), ("jsonld", ld?.DatePublished),
            ("microdata", s.Microdata.GetValueOrDefault("datepublished")),
            ("html", s.First("date") ?? s.First("pubdate") ?? s.First("publish-date") ?? s.First("dc.date") ?? s.First("parsely-pub-date") ?? s.First("sailthru.date")),
            ("html", s.FirstTime));
        // The site's icon, largest first (a preview shows it small and square), then a declared logo.
        preview.Logo = Choose(preview, "logo", Url,
            ("html", s.Links.Where(l => l.HasRel("icon") || l.HasRel("apple-touch-icon") || l.HasRel("apple-touch-icon-precomposed"))
                .OrderByDescending(l => l.Size).ThenBy(l => l.HasRel("icon") ? 0 : 1).FirstOrDefault()?.Href),
            ("og", s.First("og:logo")), ("jsonld", ld?.PublisherLogo), ("url", "/favicon.ico"));
        preview.Audio = Choose(preview, "audio", Url,
            ("og", s.First("og:audio:secure_url") ?? s.First("og:audio") ?? s.First("og:audio:url")), ("html", s.AudioSource));
        var videoType = s.First("og:video:type");
        var ogVideo = s.First("og:video:secure_url") ?? s.First("og:video:url") ?? s.First("og:video");
        var ogVideoIsPlayer = videoType?.Contains("html", StringComparison.OrdinalIgnoreCase) == true
            || (videoType is null && ogVideo is not null && !HasMediaExtension(ogVideo));
        preview.Video = Choose(preview, "video", Url,
            ("og", ogVideoIsPlayer ? null : ogVideo), ("twitter", s.First("twitter:player:stream")), ("html", s.VideoSource));
        preview.ThemeColor = Choose(preview, "theme_color", v => TextCleaner.Clean(v, 32), ("html", s.First("theme-color")));

        var pageUrl = preview.Url is { } u && Uri.TryCreate(u, UriKind.Absolute, out var canonical) ? canonical : finalUrl;
        preview.Embed = EmbedResolver.FromUrl(finalUrl) ?? EmbedResolver.FromUrl(pageUrl)
            ?? EmbedResolver.FromPlayer(ogVideoIsPlayer ? Player(ogVideo) : null, videoType, finalUrl.Host, Int(s.First("og:video:width")), Int(s.First("og:video:height")))
            ?? EmbedResolver.FromPlayer(Player(s.First("twitter:player")), null, finalUrl.Host, Int(s.First("twitter:player:width")), Int(s.First("twitter:player:height")))
            ?? EmbedResolver.FromPlayer(Player(ld?.EmbedUrl), null, finalUrl.Host, null, null);
        if (preview.Embed is not null)
        {
            preview.Sources["embed"] = "url";
        }

        preview.OEmbedUrl = Url(s.Links.FirstOrDefault(l => l.Type == "application/json+oembed")?.Href) ?? Url(OEmbedFromHeaders(linkHeaders, finalUrl));
        return preview;
    }

    private static string? Choose(LinkPreview preview, string field, Func<string?, string?> clean, params (string Source, string? Raw)[] candidates)
    {
        foreach (var (source, raw) in candidates)
        {
            if (raw is not null && clean(raw) is { } value)
            {
                preview.Sources[field] = source;
                return value;
            }
        }

        return null;
    }

    private static LinkPreview FromMediaUrl(string mediaType, Uri url)
    {
        var kind = mediaType[..mediaType.IndexOf('/')];
        var preview = new LinkPreview { ContentKind = kind, Url = url.AbsoluteUri, SiteName = url.Host };
        var name = Uri.UnescapeDataString(url.AbsolutePath.TrimEnd('/').Split('/').LastOrDefault() ?? string.Empty);
        preview.Title = TextCleaner.Clean(name, TextCleaner.MaxTitle) ?? url.Host;
        preview.Type = mediaType;
        switch (kind)
        {
            case "image":
                preview.Image = new ImageInfo(url.AbsoluteUri);
                break;
            case "audio":
                preview.Audio = url.AbsoluteUri;
                break;
            default:
                preview.Video = url.AbsoluteUri;
                break;
        }

        foreach (var field in new[] { "title", "url", "site_name", "type", kind })
        {
            preview.Sources[field] = "url";
        }

        return preview;
    }

    private static string? MediaType(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return null;
        }

        var semicolon = contentType.IndexOf(';');
        return (semicolon >= 0 ? contentType[..semicolon] : contentType).Trim().ToLowerInvariant();
    }

    private static bool LooksLikeHtml(ReadOnlySpan<byte> body)
    {
        var head = System.Text.Encoding.Latin1.GetString(body[..Math.Min(body.Length, 512)]).TrimStart('\uFEFF', '\u00EF', '\u00BB', '\u00BF', ' ', '\t', '\r', '\n');
        return head.StartsWith('<') && HtmlStart().IsMatch(head);
    }

    /// <summary>
    /// A BCP 47 tag with its case normalised (<c>en-US</c>, <c>zh-Hant-TW</c>, <c>pt-BR</c>): the language lowercase,
    /// a script titlecase, a region uppercase. <c>en_US</c> (og:locale) becomes <c>en-US</c>; of a list
    /// (<c>Content-Language: de, en</c>) the first; what follows an invalid subtag (<c>en_US.UTF-8</c>) is dropped.
    /// </summary>
    internal static string? Language(string? raw)
    {
        var text = raw?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var end = text.IndexOfAny([',', ';', ' ', '.', '@']);
        var subtags = (end >= 0 ? text[..end] : text).Split('-', '_');
        var primary = subtags[0].ToLowerInvariant();
        if (primary.Length is not (2 or 3) || !primary.All(char.IsAsciiLetterLower))
        {
            return null;
        }

        var tag = new System.Text.StringBuilder(primary);
        for (var i = 1; i < subtags.Length; i++)
        {
            var subtag = subtags[i];
            if (subtag.Length is 0 or > 8 || !subtag.All(char.IsAsciiLetterOrDigit))
            {
                break;
            }

            tag.Append('-').Append(subtag switch
            {
                { Length: 4 } when subtag.All(char.IsAsciiLetter) =>
                    char.ToUpperInvariant(subtag[0]) + subtag[1..].ToLowerInvariant(),
                { Length: 2 } when subtag.All(char.IsAsciiLetter) => subtag.ToUpperInvariant(),
                _ => subtag.ToLowerInvariant(),
            });
        }

        return tag.ToString();
    }

    private static string? Date(string? raw)
    {
        var text = raw?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var date)
            && date.Year is > 1990 and < 2200)
        {
            return date.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds is > 631152000 and < 7258118400
            ? DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)
            : null;
    }

    /// <summary>
    /// The site's name from a title like "Headline | Site" or "Site | Headline": the outer segment that is not the
    /// headline. Null when the title has no separator.
    /// </summary>
    private static string? SiteFromTitle(string? title, string? headline)
    {
        var clean = TextCleaner.Clean(title, TextCleaner.MaxTitle);
        if (clean is null)
        {
            return null;
        }

        var parts = TitleSeparator().Split(clean).Select(p => p.Trim()).Where(p => p.Length > 0).ToArray();
        if (parts.Length < 2)
        {
            return null;
        }

        var head = TextCleaner.Clean(headline, TextCleaner.MaxTitle);
        var (first, last) = (parts[0], parts[^1]);
        var site = head is not null && string.Equals(last, head, StringComparison.OrdinalIgnoreCase) ? first : last;
        return site.Length <= 60 ? site : null;
    }

    /// <summary>Several authors printed in the page, each cleaned, the same name once, joined in page order.</summary>
    private static string? Authors(IReadOnlyList<string> names)
    {
        var kept = names.Select(Author).OfType<string>().Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        return kept.Count == 0 ? null : TextCleaner.Clean(string.Join(", ", kept), TextCleaner.MaxShort);
    }

    /// <summary>A person's name: not a URL, without a leading "By".</summary>
    private static string? Author(string? raw)
    {
        var text = TextCleaner.Clean(raw, TextCleaner.MaxShort);
        if (text is null || IsUrl(text))
        {
            return null;
        }

        return text.StartsWith("by ", StringComparison.OrdinalIgnoreCase) ? TextCleaner.Clean(text[3..], TextCleaner.MaxShort) : text;
    }

    private static int? Int(string? raw) => int.TryParse(raw?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;

    private static bool IsUrl(string? value) =>
        value is not null && (value.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || value.StartsWith("https://", StringComparison.OrdinalIgnoreCase));

    private static bool HasMediaExtension(string url) => MediaExtension().IsMatch(url);

    /// <summary><c>&lt;url&gt;; rel="alternate"; type="application/json+oembed"</c> in an HTTP <c>Link</c> header.</summary>
    private static string? OEmbedFromHeaders(IReadOnlyList<string> headers, Uri baseUri)
    {
        foreach (var header in headers)
        {
            foreach (Match match in LinkHeaderEntry().Matches(header))
            {
                if (match.Groups["params"].Value.Contains("application/json+oembed", StringComparison.OrdinalIgnoreCase))
                {
                    return TextCleaner.ResolveUrl(match.Groups["url"].Value, baseUri);
                }
            }
        }

        return null;
    }

    [GeneratedRegex("^<(!doctype html|html|head|meta|title|body|!--)", RegexOptions.IgnoreCase)]
    private static partial Regex HtmlStart();

    [GeneratedRegex(@"\.(mp4|webm|ogv|mov|m4v|m3u8|mp3|m4a|ogg|wav)(\?|$)", RegexOptions.IgnoreCase)]
    private static partial Regex MediaExtension();

    [GeneratedRegex(@"\s+[|\-–—·»:]{1,2}\s+")]
    private static partial Regex TitleSeparator();

    [GeneratedRegex("<(?<url>[^>]*)>(?<params>[^,]*)")]
    private static partial Regex LinkHeaderEntry();
}
