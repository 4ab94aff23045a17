using System.Text.Json;

namespace Worker.Tests.Unit.LinkMetadata;

/// <summary>The 89 saved pages with metascraper's extraction of each (<c>shared/corpus/metascraper</c>, beside the repository).</summary>
internal static class Corpus
{
    public static string Directory()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var candidate in new[] { Path.Combine(dir.FullName, "shared", "corpus", "metascraper"), Path.Combine(dir.FullName, "..", "shared", "corpus", "metascraper") })
            {
                if (System.IO.Directory.Exists(candidate))
                {
                    return Path.GetFullPath(candidate);
                }
            }
        }

        Assert.Fail("shared/corpus/metascraper not found above the test directory: the corpus must sit beside the repository (../shared)");
        return null!;
    }

    public static IEnumerable<CorpusPage> Pages() =>
        System.IO.Directory.GetDirectories(Directory()).Order(StringComparer.Ordinal).Select(dir =>
        {
            using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
            var root = expected.RootElement;
            var fields = root.GetProperty("expected").EnumerateObject()
                .ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null);
            return new CorpusPage(Path.GetFileName(dir), new Uri(root.GetProperty("url").GetString()!), Path.Combine(dir, "page.html"), fields);
        });
}

internal sealed record CorpusPage(string Site, Uri Url, string HtmlPath, Dictionary<string, string?> Expected);
