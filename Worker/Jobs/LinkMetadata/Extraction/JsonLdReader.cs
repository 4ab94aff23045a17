using System.Text.Json;

namespace Worker.Jobs.LinkMetadata.Extraction;

/// <summary>
/// Reads JSON-LD blocks, tolerating the broken ones: top-level objects, arrays and <c>@graph</c> are flattened, and
/// the main entity is the first of the most article-like type.
/// </summary>
internal static class JsonLdReader
{
    private static readonly string[] Preferred =
    [
        "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle", "Article", "BlogPosting", "TechArticle", "Report",
        "ScholarlyArticle", "VideoObject", "AudioObject", "PodcastEpisode", "MusicRecording", "MusicAlbum", "Recipe",
        "Product", "Event", "Book", "Movie", "ProfilePage", "WebPage", "ItemPage", "CollectionPage", "Organization",
        "WebSite",
    ];

    private static readonly JsonDocumentOptions Tolerant = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
        MaxDepth = 64,
    };

    public static JsonLdData? Read(IReadOnlyList<string> blocks)
    {
        var entities = new List<JsonElement>();
        var documents = new List<JsonDocument>();
        try
        {
            foreach (var block in blocks)
            {
                try
                {
                    var document = JsonDocument.Parse(block.Trim().TrimEnd(';'), Tolerant);
                    documents.Add(document);
                    Flatten(document.RootElement, entities, 0);
                }
                catch (JsonException)
                {
                    // A broken block is skipped; the others still count.
                }
            }

            if (entities.Count == 0)
            {
                return null;
            }

            var main = entities
                .Select(e => (Entity: e, Rank: Rank(e)))
                .OrderBy(x => x.Rank)
                .First().Entity;
            var organization = entities.FirstOrDefault(e => Types(e).Any(t => t is "Organization" or "NewsMediaOrganization" or "Corporation"));
            var publisher = Property(main, "publisher") ?? (organization.ValueKind == JsonValueKind.Object ? organization : null);
            var language = entities.Select(e => Text(Property(e, "inLanguage"))).FirstOrDefault(l => l is not null);
            return new JsonLdData(
                Types(main).FirstOrDefault(),
                Text(Property(main, "headline")) ?? Text(Property(main, "name")),
                Text(Property(main, "description")),
                Url(Property(main, "image")) ?? Url(Property(main, "thumbnailUrl")),
                Names(Property(main, "author")) ?? Names(Property(main, "creator")),
                Text(Property(main, "datePublished")) ?? Text(Property(main, "uploadDate")) ?? Text(Property(main, "dateCreated")),
                Name(publisher),
                publisher is { } p ? Url(Property(p, "logo")) : null,
                Url(Property(main, "url")) ?? Url(Property(main, "mainEntityOfPage")),
                language,
                Url(Property(main, "embedUrl")));
        }
        finally
        {
            documents.ForEach(d => d.Dispose());
        }
    }

    private static void Flatten(JsonElement element, List<JsonElement> into, int depth)
    {
        if (depth > 4)
        {
            return;
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Flatten(item, into, depth + 1);
                }

                break;
            case JsonValueKind.Object:
                if (element.TryGetProperty("@type", out _))
                {
                    into.Add(element);
                }

                if (element.TryGetProperty("@graph", out var graph))
                {
                    Flatten(graph, into, depth + 1);
                }

                break;
        }
    }

    private static int Rank(JsonElement entity)
    {
        var best = Preferred.Length;
        foreach (var type in Types(entity))
        {
            var index = Array.IndexOf(Preferred, type);
            if (index >= 0 && index < best)
            {
                best = index;
            }
        }

        return best;
    }

    private static IEnumerable<string> Types(JsonElement entity)
    {
        if (entity.ValueKind != JsonValueKind.Object || !entity.TryGetProperty("@type", out var type))
        {
            yield break;
        }

        if (type.ValueKind == JsonValueKind.String)
        {
            yield return StripVocabulary(type.GetString()!);
        }
        else if (type.ValueKind == JsonValueKind.Array)
        {
            foreach (var t in type.EnumerateArray())
            {
                if (t.ValueKind == JsonValueKind.String)
                {
                    yield return StripVocabulary(t.GetString()!);
                }
            }
        }
    }

    private static string StripVocabulary(string type) => type[(type.LastIndexOfAny(['/', ':']) + 1)..];

    private static JsonElement? Property(JsonElement entity, string name) =>
        entity.ValueKind == JsonValueKind.Object && entity.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : null;

    /// <summary>A string, the first string of an array, or an object's <c>@value</c>/<c>name</c>.</summary>
    private static string? Text(JsonElement? element) => element switch
    {
        { ValueKind: JsonValueKind.String } e => e.GetString(),
        { ValueKind: JsonValueKind.Number } e => e.GetRawText(),
        { ValueKind: JsonValueKind.Array } e => e.EnumerateArray().Select(i => Text(i)).FirstOrDefault(t => t is not null),
        { ValueKind: JsonValueKind.Object } e => Text(Property(e, "@value")) ?? Text(Property(e, "name")),
        _ => null,
    };

    /// <summary>A person or organization's name: a string, an object's <c>name</c>, or the first of an array.</summary>
    private static string? Name(JsonElement? element) => element switch
    {
        { ValueKind: JsonValueKind.String } e => e.GetString(),
        { ValueKind: JsonValueKind.Array } e => e.EnumerateArray().Select(i => Name(i)).FirstOrDefault(t => !string.IsNullOrWhiteSpace(t)),
        { ValueKind: JsonValueKind.Object } e => Text(Property(e, "name")),
        _ => null,
    };

    /// <summary>Every name of an array (several authors), the same name once, joined in their order; else as <see cref="Name"/>.</summary>
    private static string? Names(JsonElement? element)
    {
        if (element is not { ValueKind: JsonValueKind.Array } array)
        {
            return Name(element);
        }

        var names = array.EnumerateArray().Select(i => Name(i)?.Trim()).Where(n => !string.IsNullOrEmpty(n)).Distinct(StringComparer.OrdinalIgnoreCase).Take(10).ToList();
        return names.Count == 0 ? null : string.Join(", ", names);
    }

    /// <summary>A URL: a string, an object's <c>url</c>/<c>contentUrl</c>/<c>@id</c>, or the first of an array.</summary>
    private static string? Url(JsonElement? element) => element switch
    {
        { ValueKind: JsonValueKind.String } e => e.GetString(),
        { ValueKind: JsonValueKind.Array } e => e.EnumerateArray().Select(i => Url(i)).FirstOrDefault(t => !string.IsNullOrWhiteSpace(t)),
        { ValueKind: JsonValueKind.Object } e => Text(Property(e, "url")) ?? Text(Property(e, "contentUrl")) ?? Text(Property(e, "@id")),
        _ => null,
    };
}
