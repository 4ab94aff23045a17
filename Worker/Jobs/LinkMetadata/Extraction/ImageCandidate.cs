using HtmlAgilityPack;

namespace Worker.Jobs.LinkMetadata.Extraction;

/// <summary>An <c>&lt;img&gt;</c> that could stand for the page: lazy-loading attributes and <c>srcset</c> understood.</summary>
internal sealed record ImageCandidate(string Src, int? Width, int? Height, string? Alt, bool InArticle)
{
    /// <summary>Images smaller than this on either side are icons, spacers or tracking pixels.</summary>
    private const int MinSide = 100;

    public static ImageCandidate? From(HtmlNode img, bool inArticle)
    {
        var src = LargestFromSrcset(img.GetAttributeValue("data-srcset", null) ?? img.GetAttributeValue("srcset", null))
            ?? img.GetAttributeValue("data-src", null)
            ?? img.GetAttributeValue("data-lazy-src", null)
            ?? img.GetAttributeValue("data-original", null)
            ?? img.GetAttributeValue("src", null);
        if (string.IsNullOrWhiteSpace(src) || src.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var width = Dimension(img.GetAttributeValue("width", null));
        var height = Dimension(img.GetAttributeValue("height", null));
        if (width < MinSide || height < MinSide)
        {
            return null;
        }

        return new ImageCandidate(src.Trim(), width, height, img.GetAttributeValue("alt", null), inArticle);
    }

    /// <summary>The candidate with the largest width descriptor (or density) in a srcset.</summary>
    public static string? LargestFromSrcset(string? srcset)
    {
        if (string.IsNullOrWhiteSpace(srcset))
        {
            return null;
        }

        string? best = null;
        var bestScore = -1.0;
        foreach (var candidate in srcset.Split(", ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = candidate.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0)
            {
                continue;
            }

            var score = 1.0;
            if (parts.Length > 1 && parts[1].Length > 1 && double.TryParse(parts[1][..^1], System.Globalization.CultureInfo.InvariantCulture, out var n))
            {
                score = parts[1][^1] is 'w' or 'W' ? n : n * 1000;
            }

            if (score > bestScore)
            {
                (best, bestScore) = (parts[0], score);
            }
        }

        return best;
    }

    private static int? Dimension(string? value) =>
        int.TryParse(value?.Trim().TrimEnd('x', 'p', 'X', 'P'), out var n) && n > 0 ? n : null;
}
