using System.Buffers;
using System.Runtime.CompilerServices;

namespace Worker.Jobs.LinkMetadata.Extraction;

/// <summary>
/// Cuts what the preview never reads out of a page before HtmlAgilityPack sees it: the text inside non-JSON-LD
/// <c>&lt;script&gt;</c> and <c>&lt;style&gt;</c> elements and inside <c>&lt;!-- --&gt;</c> comments, and the attributes
/// of start tags that are not in <see cref="PageSignals.AttributesRead"/>. That is most of a modern page (inline
/// bundles, CSS, serialized state, SVG paths), and HtmlAgilityPack walks it one character at a time and makes an object
/// of every attribute.
/// </summary>
/// <remarks>
/// Elements stay, so the parser builds the same tree: the same elements with the same read attributes, each script and
/// style still with its one text child (empty now) and each comment still a comment. To know where a script really
/// starts and ends, the page is tokenized the way HtmlAgilityPack 1.13 tokenizes it (<c>HtmlDocument.Parse</c>): a
/// <c>&lt;script</c> inside a comment, a quoted attribute value or a <c>&lt;title&gt;</c> is not a tag, and a raw-text
/// element ends at the first <c>&lt;/name</c> followed by <c>&gt;</c> or white space, string literals or not. Kept whole:
/// a script whose start tag says <c>json</c> (JSON-LD, read by the walk) or <c>itemprop</c> (its text can be a
/// microdata value), an element never closed, a tag broken by another tag, and the whole page when it has server-side
/// code (<c>&lt;%</c>, which the parser treats specially) or an <c>itemprop</c> on <c>&lt;head&gt;</c> (the text of a
/// head includes its scripts).
/// </remarks>
internal static class UnreadContentFilter
{
    /// <summary>Raw text elements that are cut.</summary>
    private static readonly string[] CutElements = ["script", "style"];

    /// <summary>What the parser reads as raw text (its CData elements); only <see cref="CutElements"/> are cut.</summary>
    private static readonly string[] RawText = ["script", "style", "noxhtml", "textarea", "title"];

    /// <summary>What can end a tag name, an attribute name or an unquoted value, or open a tag inside one.</summary>
    private static readonly SearchValues<char> TagSpecials = SearchValues.Create("\t\n\r /=><");

    private static readonly SearchValues<char> AsciiName = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:.");

    private enum State
    {
        Text,
        Tag,
        BetweenAttributes,
        EmptyTag,
        AttributeName,
        AttributeBeforeEquals,
        AttributeAfterEquals,
        AttributeValue,
        QuotedAttributeValue,
    }

    /// <summary>The page without the text the preview never reads; the same string when there is nothing to cut.</summary>
    public static string Strip(string html)
    {
        var cuts = FindCuts(html);
        if (cuts is null || cuts.Count == 0)
        {
            return html;
        }

        var buffer = html.ToCharArray();
        return new string(buffer, 0, Remove(buffer, cuts));
    }

    /// <summary>
    /// Cuts in place, in a decoding buffer the caller owns (so a large page is not copied into one more string before
    /// the parser's); returns the new length.
    /// </summary>
    public static int StripInPlace(Span<char> html)
    {
        var cuts = FindCuts(html);
        return cuts is null ? html.Length : Remove(html, cuts);
    }

    private static int Remove(Span<char> text, List<(int Start, int End)> cuts)
    {
        var to = 0;
        var from = 0;
        foreach (var (start, end) in cuts)
        {
            text[from..start].CopyTo(text[to..]);
            to += start - from;
            from = end;
        }

        text[from..].CopyTo(text[to..]);
        return to + text.Length - from;
    }

    /// <summary>The ranges to cut, in order; null when the page must be parsed as it is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // one call a page, a loop over all of it: no slow first tiers
    private static List<(int Start, int End)>? FindCuts(ReadOnlySpan<char> text)
    {
        var cuts = new List<(int Start, int End)>();
        var state = State.Text;
        var fullComment = false;
        var i = 0;
        var tagStart = 0;
        var nameStart = 0;
        var nameEnd = -1;
        var startTag = false;
        var quote = '\0';
        var tagCuts = 0;
        var attributeStart = 0;
        var attributeNameEnd = 0;
        var attributeCuttable = false;
        var afterValueless = false;
        var n = text.Length;
        while (i < n)
        {
            if (state == State.Text)
            {
                var lt = text[i..].IndexOf('<');
                if (lt < 0)
                {
                    break;
                }

                i += lt;
                if (!IsTagOpen(text, i))
                {
                    i++;
                    continue;
                }
            }

            var c = text[i];
            if (state != State.Text && state != State.QuotedAttributeValue && IsTagOpen(text, i))
            {
                // A new tag inside an unfinished one: the parser ends the unfinished one (never as raw text) and
                // starts over here. Its attributes are left as they are.
                if (startTag && IsHeadWithItemprop(text, tagStart, i, nameStart, nameEnd))
                {
                    return null;
                }

                cuts.RemoveRange(tagCuts, cuts.Count - tagCuts);
                state = State.Text;
            }

            switch (state)
            {
                case State.Text:
                    // At a '<' that opens something.
                    var next = text[i + 1];
                    if (next == '%')
                    {
                        return null;
                    }

                    if (next is '!' or '?')
                    {
                        if (i + 1 < n - 2)
                        {
                            fullComment = text[i + 2] == '-' && text[i + 3] == '-';
                        }

                        var close = CommentEnd(text, i + 1, fullComment);
                        if (close < 0)
                        {
                            return cuts;
                        }

                        if (fullComment)
                        {
                            // Keep "<!--" and "-->" (or "--!>"): "<!---->" is the same empty comment to the parser.
                            var contentEnd = text[close - 1] == '!' ? close - 3 : close - 2;
                            if (contentEnd > i + 4)
                            {
                                cuts.Add((i + 4, contentEnd));
                            }
                        }

                        i = close + 1;
                        continue;
                    }

                    tagStart = i;
                    tagCuts = cuts.Count;
                    startTag = next != '/';
                    nameStart = startTag ? i + 1 : i + 2;
                    nameEnd = -1;
                    state = State.Tag;
                    i = nameStart;
                    continue;

                case State.Tag:
                    if (!TagSpecials.Contains(c))
                    {
                        i = SkipOrdinary(text, i);
                        continue;
                    }

                    if (IsWhiteSpace(c) || c == '/')
                    {
                        nameEnd = i;
                        state = c == '/' ? State.EmptyTag : State.BetweenAttributes;
                    }
                    else if (c == '>')
                    {
                        nameEnd = i;
                        break;
                    }

                    i++;
                    continue;

                case State.BetweenAttributes:
                    if (IsWhiteSpace(c))
                    {
                    }
                    else if (c is '/' or '?')
                    {
                        state = State.EmptyTag;
                    }
                    else if (c == '>')
                    {
                        break;
                    }
                    else
                    {
                        state = State.AttributeName;
                        attributeStart = i;

                        // Cut only where the parser is between whole attributes after white space: once "a/" or a
                        // valueless attribute comes next to what follows the cut, "/>" could close the element and
                        // "a =b" could give it a value.
                        attributeCuttable = !afterValueless && IsWhiteSpace(text[i - 1]);
                    }

                    afterValueless = false;

                    i++;
                    continue;

                case State.EmptyTag:
                    if (c == '>')
                    {
                        break;
                    }

                    state = State.BetweenAttributes;
                    if (IsWhiteSpace(c))
                    {
                        i++;
                    }

                    continue;

                case State.AttributeName:
                    if (!TagSpecials.Contains(c))
                    {
                        i = SkipOrdinary(text, i);
                        continue;
                    }

                    attributeNameEnd = i;
                    if (c == '/' || IsWhiteSpace(c))
                    {
                        state = State.AttributeBeforeEquals;
                    }
                    else if (c == '=')
                    {
                        state = State.AttributeAfterEquals;
                    }
                    else if (c == '>')
                    {
                        AttributeEnd(text, startTag && attributeCuttable ? text[nameStart..nameEnd] : default, attributeStart, attributeNameEnd, i, cuts);
                        break;
                    }

                    i++;
                    continue;

                case State.AttributeBeforeEquals:
                    if (IsWhiteSpace(c))
                    {
                        i++;
                    }
                    else if (c == '>')
                    {
                        AttributeEnd(text, startTag && attributeCuttable ? text[nameStart..nameEnd] : default, attributeStart, attributeNameEnd, i, cuts);
                        break;
                    }
                    else if (c == '=')
                    {
                        state = State.AttributeAfterEquals;
                        i++;
                    }
                    else
                    {
                        // A name without a value; the next attribute starts here.
                        AttributeEnd(text, startTag && attributeCuttable ? text[nameStart..nameEnd] : default, attributeStart, attributeNameEnd, i, cuts);
                        state = State.BetweenAttributes;
                        afterValueless = true;
                    }

                    continue;

                case State.AttributeAfterEquals:
                    if (c is '\'' or '"')
                    {
                        state = State.QuotedAttributeValue;
                        quote = c;
                    }
                    else if (c == '>')
                    {
                        AttributeEnd(text, startTag && attributeCuttable ? text[nameStart..nameEnd] : default, attributeStart, attributeNameEnd, i, cuts);
                        break;
                    }
                    else if (!IsWhiteSpace(c))
                    {
                        state = State.AttributeValue;
                    }

                    i++;
                    continue;

                case State.AttributeValue:
                    if (!TagSpecials.Contains(c))
                    {
                        i = SkipOrdinary(text, i);
                        continue;
                    }

                    if (IsWhiteSpace(c))
                    {
                        AttributeEnd(text, startTag && attributeCuttable ? text[nameStart..nameEnd] : default, attributeStart, attributeNameEnd, i, cuts);
                        state = State.BetweenAttributes;
                    }
                    else if (c == '>')
                    {
                        AttributeEnd(text, startTag && attributeCuttable ? text[nameStart..nameEnd] : default, attributeStart, attributeNameEnd, i, cuts);
                        break;
                    }

                    i++;
                    continue;

                case State.QuotedAttributeValue:
                    var stop = text[i..].IndexOfAny(quote, '<');
                    if (stop < 0)
                    {
                        cuts.RemoveRange(tagCuts, cuts.Count - tagCuts);
                        return cuts;
                    }

                    i += stop;
                    if (text[i] == quote)
                    {
                        AttributeEnd(text, startTag && attributeCuttable ? text[nameStart..nameEnd] : default, attributeStart, attributeNameEnd, i + 1, cuts);
                        state = State.BetweenAttributes;
                    }
                    else if (i + 1 < n && text[i + 1] == '%')
                    {
                        return null;
                    }

                    i++;
                    continue;
            }

            // The tag ends at the '>' at i.
            if (startTag && IsHeadWithItemprop(text, tagStart, i, nameStart, nameEnd))
            {
                return null;
            }

            i++;
            state = State.Text;
            if (!startTag || RawTextName(text, nameStart, nameEnd) is not { } name)
            {
                continue;
            }

            var end = RawTextEnd(text, i, name.Length, nameStart);
            if (end < 0)
            {
                // Never closed: the rest of the page is this element's text, left as it is.
                return cuts;
            }

            if (end > i && Array.IndexOf(CutElements, name) >= 0 && !KeepsItsText(text[tagStart..i]))
            {
                cuts.Add((i, end));
            }

            // The end tag's name is read next, as the parser does.
            tagStart = end;
            startTag = false;
            nameStart = end + 2;
            nameEnd = -1;
            state = State.Tag;
            i = nameStart;
        }

        if (state != State.Text)
        {
            // The page ends inside a tag: that tag is left as it is.
            cuts.RemoveRange(tagCuts, cuts.Count - tagCuts);
        }

        return cuts;
    }

    /// <summary>
    /// An attribute of a start tag ends at <paramref name="end"/>: it is cut when the walk never reads it. Only
    /// ASCII names are compared, so no case folding can make a cut name equal to a read one.
    /// </summary>
    /// <param name="element">The start tag's name; empty in an end tag or where a cut could change how the tag reads.</param>
    private static void AttributeEnd(ReadOnlySpan<char> text, ReadOnlySpan<char> element, int start, int nameEnd, int end, List<(int Start, int End)> cuts)
    {
        if (element.IsEmpty || nameEnd <= start)
        {
            return;
        }

        var name = text[start..nameEnd];
        if (name.ContainsAnyExcept(AsciiName))
        {
            return;
        }

        // A class or id on an element with a non-ASCII name is kept: no case folding may turn it into one whose class is read.
        var read = PageSignals.IsBylineAttribute(name)
            ? element.ContainsAnyExcept(AsciiName) || PageSignals.ReadsClassOn(element)
            : PageSignals.IsAttributeRead(name);
        if (!read)
        {
            cuts.Add((start, end));
        }
    }

    /// <summary>The index of the next <see cref="TagSpecials"/> character after <paramref name="i"/>, or the end.</summary>
    private static int SkipOrdinary(ReadOnlySpan<char> text, int i)
    {
        var next = text[(i + 1)..].IndexOfAny(TagSpecials);
        return next < 0 ? text.Length : i + 1 + next;
    }

    /// <summary>The parser's test for a '<' that opens a tag, a comment or server-side code.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsTagOpen(ReadOnlySpan<char> text, int i) =>
        text[i] == '<' && i + 1 < text.Length && (char.IsLetter(text[i + 1]) || text[i + 1] is '/' or '?' or '!' or '%');

    /// <summary>The parser's white space: only these four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsWhiteSpace(char c) => c is '\n' or '\r' or ' ' or '\t';

    /// <summary>
    /// The '>' that ends a comment whose '!' (or '?') is at <paramref name="from"/>: the first one, or for a full
    /// <c>&lt;!--</c> comment the first one after "--" or "--!". -1 when there is none.
    /// </summary>
    private static int CommentEnd(ReadOnlySpan<char> text, int from, bool full)
    {
        var at = from;
        while (true)
        {
            var gt = text[at..].IndexOf('>');
            if (gt < 0)
            {
                return -1;
            }

            at += gt;
            if (!full || (text[at - 1] == '-' && text[at - 2] == '-') || (text[at - 1] == '!' && text[at - 2] == '-' && text[at - 3] == '-'))
            {
                return at;
            }

            at++;
        }
    }

    /// <summary>The lowercase name of a raw text element, or null for any other element.</summary>
    private static string? RawTextName(ReadOnlySpan<char> text, int nameStart, int nameEnd)
    {
        if (nameEnd < 0)
        {
            return null;
        }

        var name = text[nameStart..nameEnd];
        foreach (var candidate in RawText)
        {
            if (name.Equals(candidate, StringComparison.OrdinalIgnoreCase))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// Where the text of a raw text element starting at <paramref name="from"/> ends: the first "&lt;/" followed by
    /// its name (any case) and '&gt;' or white space. -1 when it is never closed.
    /// </summary>
    private static int RawTextEnd(ReadOnlySpan<char> text, int from, int nameLength, int nameStart)
    {
        var name = text.Slice(nameStart, nameLength);
        var at = from;
        while (true)
        {
            var lt = text[at..].IndexOf("</", StringComparison.Ordinal);
            if (lt < 0)
            {
                return -1;
            }

            at += lt;
            if (at + nameLength + 3 > text.Length)
            {
                return -1;
            }

            if (text.Slice(at + 2, nameLength).Equals(name, StringComparison.OrdinalIgnoreCase)
                && (text[at + 2 + nameLength] == '>' || IsWhiteSpace(text[at + 2 + nameLength])))
            {
                return at;
            }

            at++;
        }
    }

    private static bool KeepsItsText(ReadOnlySpan<char> startTag) =>
        startTag.Contains("json", StringComparison.OrdinalIgnoreCase) || startTag.Contains("itemprop", StringComparison.OrdinalIgnoreCase);

    private static bool IsHeadWithItemprop(ReadOnlySpan<char> text, int tagStart, int tagEnd, int nameStart, int nameEnd) =>
        nameEnd - nameStart == 4 && text.Slice(nameStart, 4).Equals("head", StringComparison.OrdinalIgnoreCase)
        && text[tagStart..tagEnd].Contains("itemprop", StringComparison.OrdinalIgnoreCase);
}
