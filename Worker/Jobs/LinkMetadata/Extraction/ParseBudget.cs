using System.Buffers;

namespace Worker.Jobs.LinkMetadata.Extraction;

/// <summary>
/// Bounds what HtmlAgilityPack builds from one page. Its tree costs about 600 bytes an element (a 5 MB page of
/// <c>&lt;p&gt;</c> made 1.7 million of them and peaked near 1 GB), so the parser gets only the beginning of a page,
/// up to <see cref="MaxNodes"/> nodes: elements, attributes and runs of text, counted on the way. That is where a
/// preview lives (the head, the first heading, paragraph and images); JSON-LD blocks past the cut are still read
/// (<see cref="JsonLdAfter"/>). The corpus's largest page has about a quarter of the budget, so real pages are whole.
/// </summary>
internal static class ParseBudget
{
    /// <summary>Nodes the parser may build from one page: 150,000 (the corpus's largest page counts 83,368).</summary>
    public const int MaxNodes = 150_000;

    private static readonly SearchValues<char> InTag = SearchValues.Create("\"'> \t\n\r\f/=");

    /// <summary>
    /// The length of the prefix of <paramref name="html"/> that holds at most <paramref name="maxNodes"/> nodes, cut
    /// before a tag; the whole length when the page is within the budget. It counts a little more than the parser
    /// builds (a <c>&lt;</c> inside a comment or a title counts as a tag), never less.
    /// </summary>
    public static int Prefix(ReadOnlySpan<char> html, int maxNodes = MaxNodes)
    {
        // Every node counted takes at least one character: a page this short is within the budget.
        if (html.Length <= maxNodes)
        {
            return html.Length;
        }

        var nodes = 0;
        var i = 0;
        while (i < html.Length)
        {
            var lt = html[i..].IndexOf('<');
            if (lt < 0)
            {
                return html.Length;
            }

            if (lt > 0)
            {
                nodes++; // the text before the tag
            }

            var tagStart = i + lt;
            nodes += 1 + CountTagNames(html, tagStart + 1, out var end);
            if (nodes > maxNodes)
            {
                return tagStart;
            }

            i = end;
        }

        return html.Length;
    }

    /// <summary>The text of the <c>application/ld+json</c> scripts in <paramref name="html"/>, at most <paramref name="max"/>.</summary>
    public static List<string> JsonLdAfter(ReadOnlySpan<char> html, int max)
    {
        var blocks = new List<string>();
        var i = 0;
        while (blocks.Count < max)
        {
            var open = html[i..].IndexOf("<script", StringComparison.OrdinalIgnoreCase);
            if (open < 0)
            {
                break;
            }

            var tagStart = i + open;
            var tagEnd = html[tagStart..].IndexOf('>');
            if (tagEnd < 0)
            {
                break;
            }

            tagEnd += tagStart;
            var close = html[(tagEnd + 1)..].IndexOf("</script", StringComparison.OrdinalIgnoreCase);
            var contentEnd = close < 0 ? html.Length : tagEnd + 1 + close;
            if (html[tagStart..tagEnd].Contains("ld+json", StringComparison.OrdinalIgnoreCase))
            {
                blocks.Add(html[(tagEnd + 1)..contentEnd].ToString());
            }

            i = contentEnd;
        }

        return blocks;
    }

    /// <summary>Names in a tag (its own and its attributes' and unquoted values), up to its <c>&gt;</c>; quoted values are one.</summary>
    private static int CountTagNames(ReadOnlySpan<char> html, int from, out int end)
    {
        var names = 0;
        var i = from;
        while (i < html.Length)
        {
            var special = html[i..].IndexOfAny(InTag);
            if (special < 0)
            {
                end = html.Length;
                return names + 1;
            }

            if (special > 0)
            {
                names++;
            }

            i += special;
            var c = html[i];
            if (c == '>')
            {
                end = i + 1;
                return names;
            }

            if (c is '"' or '\'')
            {
                // The parser reads a quoted value whole, a '<' in it included.
                var closing = html[(i + 1)..].IndexOf(c);
                names++;
                if (closing < 0)
                {
                    end = html.Length;
                    return names;
                }

                i += closing + 2;
                continue;
            }

            i++;
        }

        end = html.Length;
        return names;
    }
}
