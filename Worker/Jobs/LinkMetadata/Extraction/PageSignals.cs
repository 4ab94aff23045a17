using HtmlAgilityPack;

namespace Worker.Jobs.LinkMetadata.Extraction;

/// <summary>Everything the extractor reads from a page, gathered in one walk over the parsed document.</summary>
internal sealed class PageSignals
{
    /// <summary>Longest text read from an element (a heading, a microdata value): 2,000 characters.</summary>
    private const int MaxElementText = 2000;

    internal const int MaxJsonLdBlocks = 20;

    /// <summary>The elements whose <c>class</c> and <c>id</c> are read (for a byline).</summary>
    internal static bool ReadsClassOn(ReadOnlySpan<char> element) =>
        element.Equals("span", StringComparison.OrdinalIgnoreCase) || element.Equals("a", StringComparison.OrdinalIgnoreCase)
        || element.Equals("div", StringComparison.OrdinalIgnoreCase) || element.Equals("p", StringComparison.OrdinalIgnoreCase)
        || element.Equals("address", StringComparison.OrdinalIgnoreCase) || element.Equals("li", StringComparison.OrdinalIgnoreCase)
        || element.Equals("strong", StringComparison.OrdinalIgnoreCase) || element.Equals("em", StringComparison.OrdinalIgnoreCase)
        || element.Equals("cite", StringComparison.OrdinalIgnoreCase) || element.Equals("small", StringComparison.OrdinalIgnoreCase);

    /// <summary>Meta tags by lowercase <c>property</c>, <c>name</c>, <c>itemprop</c> or <c>http-equiv</c>, every value in document order.</summary>
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

    /// <summary>Microdata authors (each <c>itemprop="author"</c>, by its <c>itemprop="name"</c> when it has one), in page order.</summary>
    public List<string> MicrodataAuthors { get; } = [];

    /// <summary>The first paragraph long enough to describe the page (in an article or main element when there is one).</summary>
    public string? FirstParagraph { get; private set; }

    /// <summary>
    /// The names printed in the page's byline, from the most telling source that has one: <c>rel="author"</c> links,
    /// elements whose class or id names an author's name (<c>author-name</c>, <c>byline__name</c>), links in or named
    /// as an author element, links to <c>/author/</c> pages, then the innermost short elements whose class or id says
    /// byline, then author. Several of one source are joined when they stand together (the same parent or grandparent),
    /// in page order: the authors of one byline, not the names of a comment thread.
    /// </summary>
    public List<string> BylineNames { get; } = [];

    public string? AudioSource { get; private set; }

    public string? VideoSource { get; private set; }

    public string? VideoPoster { get; private set; }

    /// <summary>Shorter paragraphs are navigation, captions or cookie notices.</summary>
    private const int MinParagraph = 80;

    private string? _firstParagraphAnywhere;

    /// <summary>More names than this are a list of contributors, not a byline.</summary>
    private const int MaxAuthors = 10;

    /// <summary>A byline longer than this is a biography or a teaser, not names.</summary>
    private const int MaxBylineText = 100;

    /// <summary>Byline candidates by tier (lower is more telling), in page order.</summary>
    private readonly List<(int Tier, HtmlNode Node)> _bylines = [];

    private readonly List<(HtmlNode Node, string Name)> _microdataAuthors = [];

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
        // AuthorLevels: how many more levels down an element whose class or id says author still counts (three).
        var stack = new Stack<(HtmlNode Node, bool InArticle, int AuthorLevels)>();
        stack.Push((document.DocumentNode, false, 0));
        while (stack.Count > 0)
        {
            var (node, inArticle, authorLevels) = stack.Pop();
            if (node.NodeType == HtmlNodeType.Element)
            {
                inArticle |= node.Name is "article" or "main";
                authorLevels = signals.Visit(node, inArticle, authorLevels);
                if (node.Name is "script" or "style" or "noscript" or "template" or "svg")
                {
                    continue;
                }
            }

            var children = node.ChildNodes;
            for (var i = children.Count - 1; i >= 0; i--)
            {
                stack.Push((children[i], inArticle, authorLevels));
            }
        }

        signals.FirstParagraph ??= signals._firstParagraphAnywhere;
        signals.ChooseBylines();
        return signals;
    }

    private static string? Source(HtmlNode media, string typePrefix) =>
        media.ChildNodes.FirstOrDefault(c => c.Name == "source"
            && (c.GetAttributeValue("type", null) is not { } type || type.StartsWith(typePrefix, StringComparison.OrdinalIgnoreCase)))
            ?.GetAttributeValue("src", null);

    /// <returns>The author levels for the node's children.</returns>
    private int Visit(HtmlNode node, bool inArticle, int authorLevels)
    {
        var hint = ReadsClassOn(node.Name) ? BylineHintOf(node) : null;
        switch (node.Name)
        {
            case "meta":
                var key = node.GetAttributeValue("property", null) ?? node.GetAttributeValue("name", null) ?? node.GetAttributeValue("itemprop", null)
                    ?? node.GetAttributeValue("http-equiv", null);
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
            case "a" when _bylines.Count < MaxBylineCandidates:
                if (node.GetAttributeValue("rel", null)?.Contains("author", StringComparison.OrdinalIgnoreCase) ?? false)
                {
                    _bylines.Add((0, node));
                }
                else if (hint is not null || authorLevels > 0)
                {
                    _bylines.Add((2, node));
                }
                else if (node.GetAttributeValue("href", null)?.Contains("/author/", StringComparison.OrdinalIgnoreCase) ?? false)
                {
                    _bylines.Add((3, node));
                }

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

        if (node.Name != "a" && _bylines.Count < MaxBylineCandidates && hint is not null)
        {
            if (hint == BylineHint.Name && node.ChildNodes.Count <= 3)
            {
                _bylines.Add((1, node));
            }
            else if (hint != BylineHint.Name && node.ChildNodes.Count <= 8)
            {
                _bylines.Add((hint == BylineHint.Byline ? 4 : 5, node));
            }
        }

        var itemprop = node.GetAttributeValue("itemprop", null);
        if (itemprop is not null && node.Name != "meta")
        {
            foreach (var prop in itemprop.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var name = prop.ToLowerInvariant();
                if (name == "author")
                {
                    if (_microdataAuthors.Count < MaxAuthors)
                    {
                        var nameNode = node.SelectSingleNode(".//*[@itemprop='name']");
                        if ((nameNode is null ? Text(node) : ItemValue(nameNode)) is { } author)
                        {
                            _microdataAuthors.Add((node, author));
                        }
                    }
                }
                else if (!Microdata.ContainsKey(name) && ItemValue(node) is { Length: > 0 } value)
                {
                    Microdata[name] = value;
                }
            }
        }

        return hint is BylineHint.Author or BylineHint.Name ? 3 : Math.Max(0, authorLevels - 1);
    }

    private enum BylineHint
    {
        /// <summary>The class or id names an author's name: <c>author-name</c>, <c>author__name</c>, <c>byline__name</c>...</summary>
        Name,

        /// <summary>The class or id says byline.</summary>
        Byline,

        /// <summary>The class or id says author.</summary>
        Author,
    }

    private static BylineHint? BylineHintOf(HtmlNode node)
    {
        var cls = node.GetAttributeValue("class", null);
        var id = node.GetAttributeValue("id", null);
        if (!MayHint(cls) && !MayHint(id))
        {
            return null;
        }

        var hints = $"{cls} {id}";

        foreach (var name in NameHints)
        {
            if (hints.Contains(name, StringComparison.OrdinalIgnoreCase))
            {
                return BylineHint.Name;
            }
        }

        if (hints.Contains("byline", StringComparison.OrdinalIgnoreCase))
        {
            return BylineHint.Byline;
        }

        var author = hints.IndexOf("author", StringComparison.OrdinalIgnoreCase);
        if (author < 0)
        {
            return null;
        }

        // "authority", "authorize", "author-bio", "author-avatar": not a name.
        var rest = hints.AsSpan(author + 6);
        return rest.StartsWith("it", StringComparison.OrdinalIgnoreCase) || rest.StartsWith("iz", StringComparison.OrdinalIgnoreCase)
            || NotNames.Any(n => hints.Contains(n, StringComparison.OrdinalIgnoreCase))
            ? null
            : BylineHint.Author;
    }

    private static bool MayHint(string? value) =>
        value is not null && (value.Contains("author", StringComparison.OrdinalIgnoreCase) || value.Contains("byline", StringComparison.OrdinalIgnoreCase));

    private static readonly string[] NameHints = ["author-name", "author__name", "author_name", "authorname", "byline__name", "byline-name"];

    private static readonly string[] NotNames = ["bio", "avatar", "image", "img", "photo", "picture", "desc", "about", "follow", "social"];

    private const int MaxBylineCandidates = 200;

    /// <summary>Fills <see cref="BylineNames"/> and <see cref="MicrodataAuthors"/> from the candidates the walk found.</summary>
    private void ChooseBylines()
    {
        MicrodataAuthors.AddRange(Together(_microdataAuthors));
        foreach (var tier in _bylines.Select(b => b.Tier).Distinct().Order())
        {
            var nodes = _bylines.Where(b => b.Tier == tier).Select(b => b.Node).ToList();
            if (tier >= 4)
            {
                // div.byline > span.author: the span.
                nodes = nodes.Where(n => !nodes.Any(other => other != n && IsAncestor(n, other))).ToList();
            }

            var named = nodes.Select(n => (Node: n, Name: Text(n)))
                .Where(c => TextCleaner.Clean(c.Name, MaxBylineText + 1) is { Length: <= MaxBylineText })
                .ToList();
            if (named.Count > 0)
            {
                BylineNames.AddRange(Together(named));
                return;
            }
        }
    }

    /// <summary>The first name and those that stand with it (the same parent or grandparent), in page order.</summary>
    private static IEnumerable<string> Together(List<(HtmlNode Node, string Name)> candidates)
    {
        if (candidates.Count == 0)
        {
            yield break;
        }

        var first = candidates[0].Node;
        foreach (var (node, name) in candidates.Take(MaxAuthors))
        {
            if (node == first || node.ParentNode == first.ParentNode
                || (node.ParentNode?.ParentNode is { } grandparent && grandparent == first.ParentNode?.ParentNode))
            {
                yield return name;
            }
        }
    }

    private static bool IsAncestor(HtmlNode ancestor, HtmlNode node)
    {
        for (var parent = node.ParentNode; parent is not null; parent = parent.ParentNode)
        {
            if (parent == ancestor)
            {
                return true;
            }
        }

        return false;
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
