using HtmlAgilityPack;

namespace Worker.Jobs.LinkMetadata.Extraction;

/// <summary>Everything the extractor reads from a page, gathered in one walk over the parsed document.</summary>
internal sealed class PageSignals
{
    /// <summary>Longest text read from an element (a heading, a microdata value): 2,000 characters.</summary>
    private const int MaxElementText = 2000;

    internal const int MaxJsonLdBlocks = 20;

    /// <summary>
    /// Every attribute this walk, <see cref="ImageCandidate"/> and the parser itself (the meta charset) read, in any
    /// case. <see cref="UnreadContentFilter"/> cuts all others out of start tags before parsing: a new attribute read here
    /// must be added to this list.
    /// </summary>
    internal static readonly string[] AttributesRead =
    [
        "property", "name", "itemprop", "content", "rel", "href", "type", "sizes", "lang", "xml:lang", "datetime", "src",
        "srcset", "data-srcset", "data-src", "data-lazy-src", "data-original", "width", "height", "alt", "poster", "class",
        "value", "http-equiv", "charset",
    ];

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> AttributeLookup =
        new HashSet<string>(AttributesRead, StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Whether the extraction reads an attribute of this name (any case): one hash lookup, for the filter's scan.</summary>
    internal static bool IsAttributeRead(ReadOnlySpan<char> name) => AttributeLookup.Contains(name);

    /// <summary>The elements whose <c>class</c> is read (for a byline); on all others it is cut with the unread attributes.</summary>
    internal static bool ReadsClassOn(ReadOnlySpan<char> element) =>
        element.Equals("span", StringComparison.OrdinalIgnoreCase) || element.Equals("a", StringComparison.OrdinalIgnoreCase)
        || element.Equals("div", StringComparison.OrdinalIgnoreCase) || element.Equals("p", StringComparison.OrdinalIgnoreCase);

    /// <summary>Meta tags by lowercase <c>property</c>, <c>name</c> or <c>itemprop</c>, every value in document order.</summary>
    public Dictionary<string, List<string>> Meta { get; } = new(StringComparer.Ordinal);

    /// <summary>Microdata: the first value of each <c>itemprop</c> outside meta tags.</summary>
    public Dictionary<string, string> Microdata { get; } = new(StringComparer.Ordinal);

    public List<LinkTag> Links { get; } = [];

    public List<string> JsonLd { get; } = [];

    public List<ImageCandidate> Images { get; } = [];

    public string? Title { get; private set; }

    public string? FirstHeading { get; private set; }

    public string? HtmlLang { get; private set; }

    public string? BaseHref { get; private set; }

    public string? FirstTime { get; private set; }

    public string? MicrodataAuthor { get; private set; }

    /// <summary>The first paragraph long enough to describe the page (in an article or main element when there is one).</summary>
    public string? FirstParagraph { get; private set; }

    /// <summary>Byline text: a <c>rel=author</c> link, or an element whose class names an author or byline.</summary>
    public string? BylineAuthor { get; private set; }

    public string? AudioSource { get; private set; }

    public string? VideoSource { get; private set; }

    public string? VideoPoster { get; private set; }

    /// <summary>Shorter paragraphs are navigation, captions or cookie notices.</summary>
    private const int MinParagraph = 80;

    private string? _firstParagraphAnywhere;

    /// <summary>JSON-LD blocks found past the part of the page that was parsed (<see cref="ParseBudget"/>), in page order.</summary>
    public void AddJsonLd(IEnumerable<string> blocks)
    {
        foreach (var block in blocks)
        {
            if (JsonLd.Count >= MaxJsonLdBlocks)
            {
                return;
            }

            JsonLd.Add(block);
        }
    }

    public string? First(string key) => Meta.TryGetValue(key, out var values) ? values[0] : null;

    public static PageSignals Read(HtmlDocument document)
    {
        var signals = new PageSignals();
        var stack = new Stack<(HtmlNode Node, bool InArticle)>();
        stack.Push((document.DocumentNode, false));
        while (stack.Count > 0)
        {
            var (node, inArticle) = stack.Pop();
            if (node.NodeType == HtmlNodeType.Element)
            {
                inArticle |= node.Name is "article" or "main";
                signals.Visit(node, inArticle);
                if (node.Name is "script" or "style" or "noscript" or "template" or "svg")
                {
                    continue;
                }
            }

            var children = node.ChildNodes;
            for (var i = children.Count - 1; i >= 0; i--)
            {
                stack.Push((children[i], inArticle));
            }
        }

        signals.FirstParagraph ??= signals._firstParagraphAnywhere;
        return signals;
    }

    private static string? Source(HtmlNode media, string typePrefix) =>
        media.ChildNodes.FirstOrDefault(c => c.Name == "source"
            && (c.GetAttributeValue("type", null) is not { } type || type.StartsWith(typePrefix, StringComparison.OrdinalIgnoreCase)))
            ?.GetAttributeValue("src", null);

    private void Visit(HtmlNode node, bool inArticle)
    {
        switch (node.Name)
        {
            case "meta":
                var key = node.GetAttributeValue("property", null) ?? node.GetAttributeValue("name", null) ?? node.GetAttributeValue("itemprop", null);
                var content = node.GetAttributeValue("content", null);
                if (key is not null && content is not null)
                {
                    var k = key.Trim().ToLowerInvariant();
                    if (!Meta.TryGetValue(k, out var list))
                    {
                        Meta[k] = list = [];
                    }

                    list.Add(content);
                }

                break;
            case "link":
                var rel = node.GetAttributeValue("rel", null);
                var href = node.GetAttributeValue("href", null);
                if (rel is not null && href is not null)
                {
                    Links.Add(new LinkTag(rel.ToLowerInvariant(), href, node.GetAttributeValue("type", null)?.ToLowerInvariant(), node.GetAttributeValue("sizes", null)));
                }

                break;
            case "script" when JsonLd.Count < MaxJsonLdBlocks
                && string.Equals(node.GetAttributeValue("type", null)?.Trim(), "application/ld+json", StringComparison.OrdinalIgnoreCase):
                JsonLd.Add(node.InnerText);
                break;
            case "title" when Title is null && !IsInside(node, "svg"):
                Title = Text(node);
                break;
            case "h1" when FirstHeading is null:
                FirstHeading = Text(node);
                break;
            case "html" when HtmlLang is null:
                HtmlLang = node.GetAttributeValue("lang", null) ?? node.GetAttributeValue("xml:lang", null);
                break;
            case "base" when BaseHref is null:
                BaseHref = node.GetAttributeValue("href", null);
                break;
            case "time" when FirstTime is null:
                FirstTime = node.GetAttributeValue("datetime", null);
                break;
            // Outside an article only the first long paragraph counts: once it is known, the others are not read.
            case "p" when FirstParagraph is null && (inArticle || _firstParagraphAnywhere is null):
                var paragraph = node.InnerText;
                if (paragraph.Trim().Length >= MinParagraph)
                {
                    if (inArticle)
                    {
                        FirstParagraph = paragraph.Length > MaxElementText ? paragraph[..MaxElementText] : paragraph;
                    }
                    else
                    {
                        _firstParagraphAnywhere ??= paragraph.Length > MaxElementText ? paragraph[..MaxElementText] : paragraph;
                    }
                }

                break;
            case "a" when BylineAuthor is null && (node.GetAttributeValue("rel", null)?.Contains("author", StringComparison.OrdinalIgnoreCase) ?? false):
                BylineAuthor = Text(node);
                break;
            case "audio" when AudioSource is null:
                AudioSource = node.GetAttributeValue("src", null) ?? Source(node, "audio/");
                break;
            case "video" when VideoSource is null:
                VideoSource = node.GetAttributeValue("src", null) ?? Source(node, "video/");
                VideoPoster ??= node.GetAttributeValue("poster", null);
                break;
            case "img" when Images.Count < 20:
                var image = ImageCandidate.From(node, inArticle);
                if (image is not null)
                {
                    Images.Add(image);
                }

                break;
        }

        if (BylineAuthor is null && ReadsClassOn(node.Name) && node.ChildNodes.Count <= 3
            && node.GetAttributeValue("class", null) is { } cls
            && (cls.Contains("author-name", StringComparison.OrdinalIgnoreCase) || cls.Contains("byline__name", StringComparison.OrdinalIgnoreCase)
                || cls.Contains("author__name", StringComparison.OrdinalIgnoreCase)))
        {
            BylineAuthor = Text(node);
        }

        var itemprop = node.GetAttributeValue("itemprop", null);
        if (itemprop is not null && node.Name != "meta")
        {
            foreach (var prop in itemprop.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var name = prop.ToLowerInvariant();
                if (name == "author" && MicrodataAuthor is null)
                {
                    var nameNode = node.SelectSingleNode(".//*[@itemprop='name']");
                    MicrodataAuthor = nameNode is null ? Text(node) : ItemValue(nameNode);
                }
                else if (!Microdata.ContainsKey(name) && ItemValue(node) is { Length: > 0 } value)
                {
                    Microdata[name] = value;
                }
            }
        }
    }

    private static string? ItemValue(HtmlNode node) => node.Name switch
    {
        "meta" => node.GetAttributeValue("content", null),
        "a" or "link" => node.GetAttributeValue("href", null),
        "img" or "audio" or "video" or "source" or "embed" or "iframe" => node.GetAttributeValue("src", null),
        "time" => node.GetAttributeValue("datetime", null) ?? Text(node),
        "data" or "meter" => node.GetAttributeValue("value", null),
        _ => node.GetAttributeValue("content", null) ?? Text(node),
    };

    private static string Text(HtmlNode node)
    {
        var text = node.InnerText;
        return text.Length > MaxElementText ? text[..MaxElementText] : text;
    }

    private static bool IsInside(HtmlNode node, string name)
    {
        for (var parent = node.ParentNode; parent is not null; parent = parent.ParentNode)
        {
            if (parent.Name == name)
            {
                return true;
            }
        }

        return false;
    }
}
