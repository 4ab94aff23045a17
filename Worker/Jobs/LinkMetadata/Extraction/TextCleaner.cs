using System.Text;
using HtmlAgilityPack;

namespace Worker.Jobs.LinkMetadata.Extraction;

/// <summary>Entities decoded, whitespace collapsed, length capped; URLs resolved and limited to http(s).</summary>
internal static class TextCleaner
{
    public const int MaxTitle = 300;
    public const int MaxDescription = 1000;
    public const int MaxShort = 200;
    public const int MaxUrl = 2048;

    public static string? Clean(string? raw, int max)
    {
        if (string.IsNullOrWhiteSpace(raw))
        {
            return null;
        }

        var decoded = HtmlEntity.DeEntitize(raw) ?? raw;
        var builder = new StringBuilder(Math.Min(decoded.Length, max + 1));
        var space = false;
        foreach (var c in decoded)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                space = builder.Length > 0;
                continue;
            }

            if (builder.Length + (space ? 2 : 1) > max)
            {
                break;
            }

            if (space)
            {
                builder.Append(' ');
                space = false;
            }

            builder.Append(c);
        }

        if (builder.Length == 0)
        {
            return null;
        }

        // Never end on half a surrogate pair.
        if (builder.Length >= max && char.IsHighSurrogate(builder[^1]))
        {
            builder.Length--;
        }

        return builder.ToString();
    }

    /// <summary>An absolute http(s) URL from <paramref name="raw"/> against <paramref name="baseUri"/>, or null.</summary>
    public static string? ResolveUrl(string? raw, Uri baseUri)
    {
        var text = raw is null ? null : HtmlEntity.DeEntitize(raw)?.Trim();
        if (string.IsNullOrEmpty(text) || text.StartsWith("data:", StringComparison.OrdinalIgnoreCase) || text.Length > MaxUrl)
        {
            return null;
        }

        if (text.StartsWith("//", StringComparison.Ordinal))
        {
            text = baseUri.Scheme + ":" + text;
        }

        if (!Uri.TryCreate(baseUri, text, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return null;
        }

        var absolute = uri.AbsoluteUri;
        return absolute.Length <= MaxUrl ? absolute : null;
    }
}
