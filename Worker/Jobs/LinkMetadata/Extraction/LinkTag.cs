namespace Worker.Jobs.LinkMetadata.Extraction;

/// <summary>A <c>&lt;link&gt;</c> element: rel (lowercase, possibly several words), href, type and sizes as written.</summary>
internal sealed record LinkTag(string Rel, string Href, string? Type, string? Sizes)
{
    public bool HasRel(string rel) => Rel.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(rel, StringComparer.Ordinal);

    /// <summary>The larger side of <c>sizes</c> ("180x180" → 180), 0 when not given.</summary>
    public int Size
    {
        get
        {
            if (Sizes is null)
            {
                return 0;
            }

            var first = Sizes.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? string.Empty;
            var x = first.IndexOfAny(['x', 'X']);
            return x > 0 && int.TryParse(first[..x], out var n) ? n : 0;
        }
    }
}
