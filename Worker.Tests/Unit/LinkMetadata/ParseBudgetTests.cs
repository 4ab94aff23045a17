using System.Text;
using Worker.Jobs.LinkMetadata.Extraction;

namespace Worker.Tests.Unit.LinkMetadata;

[TestFixture]
public sealed class ParseBudgetTests
{
    private const string Head = """<html lang="en"><head><title>Big page</title><meta property="og:description" content="From the head"></head><body>""";

    private static string Repeat(string unit, int bytes) => Head + string.Concat(Enumerable.Repeat(unit, (bytes - Head.Length) / unit.Length));

    [Test]
    public void Prefix_SmallPage_Whole()
    {
        const string page = "<html><head><title>x</title></head><body><p class=a>text</p></body></html>";

        Assert.That(ParseBudget.Prefix(page), Is.EqualTo(page.Length));
    }

    [Test]
    public void Prefix_MoreTagsThanTheBudget_CutBeforeATagWithinTheBudget()
    {
        var page = string.Concat(Enumerable.Repeat("<p>", 1000));

        var prefix = ParseBudget.Prefix(page, maxNodes: 100);

        Assert.That(prefix, Is.EqualTo(3 * 50), "each <p> is a tag and its name: two nodes");
    }

    [Test]
    public void Prefix_OneTagWithAMillionAttributes_CutBeforeThatTag()
    {
        var page = "<title>t</title><a " + string.Concat(Enumerable.Repeat("b ", 1_000_000)) + ">";

        Assert.That(ParseBudget.Prefix(page, maxNodes: 1000), Is.EqualTo("<title>t</title>".Length));
    }

    [Test]
    public void Prefix_LessThanSignsInAQuotedValue_OneNode()
    {
        var page = "<a title=\"" + string.Concat(Enumerable.Repeat("<p>", 1000)) + "\">x</a>";

        Assert.That(ParseBudget.Prefix(page, maxNodes: 10), Is.EqualTo(page.Length));
    }

    [Test]
    public void JsonLdAfter_ScriptsOfEveryKind_OnlyTheJsonLdTextInOrder()
    {
        const string tail = """<p><script>var a = 1;</script><script type="application/ld+json">{"a":1}</script><SCRIPT TYPE='application/LD+JSON'>{"b":2}</SCRIPT>""";

        Assert.That(ParseBudget.JsonLdAfter(tail, 20), Is.EqualTo(new[] { """{"a":1}""", """{"b":2}""" }));
    }

    [TestCase("<p>")]
    [TestCase("<br>")]
    [TestCase("<b></b>")]
    [TestCase("<a>")]
    [TestCase("<img>")]
    [TestCase("<div>")]
    [TestCase("<a b c d e f g h>")]
    public void Extract_FiveMegabytesOfOneTag_HeadReadAndAllocationBounded(string unit)
    {
        var body = Encoding.UTF8.GetBytes(Repeat(unit, 5 * 1024 * 1024 - 1024));
        MetadataExtractor.Extract(Encoding.UTF8.GetBytes("<title>warm</title>"), "text/html", new Uri("https://example.com/"));
        var before = GC.GetAllocatedBytesForCurrentThread();

        var preview = MetadataExtractor.Extract(body, "text/html", new Uri("https://example.com/"));

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That((preview.Title, preview.Description), Is.EqualTo(("Big page", "From the head")));
        // Before the budget a page of <p> allocated about a gigabyte; the tree of 100,000 nodes is a small part of this.
        Assert.That(allocated, Is.LessThan(160L * 1024 * 1024), $"{allocated / 1e6:0} MB allocated");
    }

    [Test]
    public void Extract_JsonLdAtTheEndOfAPagePastTheBudget_StillRead()
    {
        var page = Repeat("<p>", 3 * 1024 * 1024) + """<script type="application/ld+json">{"@type":"NewsArticle","author":{"@type":"Person","name":"Ada Lovelace"}}</script>""";

        var preview = MetadataExtractor.Extract(Encoding.UTF8.GetBytes(page), "text/html", new Uri("https://example.com/"));

        Assert.That((preview.Author, preview.Sources["author"]), Is.EqualTo(("Ada Lovelace", "jsonld")));
    }

    [Test]
    public void Prefix_CorpusPages_NoneIsCut()
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        var largest = 0;
        foreach (var page in Corpus.Pages())
        {
            var text = File.ReadAllText(page.HtmlPath);
            Assert.That(ParseBudget.Prefix(text), Is.EqualTo(text.Length), page.Site);
            largest = Math.Max(largest, ParseBudget.Prefix(text, int.MaxValue) == text.Length ? Count(text) : 0);
        }

        TestContext.Out.WriteLine($"largest page: {largest} nodes of {ParseBudget.MaxNodes}");
    }

    /// <summary>The nodes a page counts: the smallest budget that leaves it whole.</summary>
    private static int Count(string text)
    {
        var (low, high) = (0, ParseBudget.MaxNodes);
        while (low < high)
        {
            var mid = (low + high) / 2;
            (low, high) = ParseBudget.Prefix(text, mid) == text.Length ? (low, mid) : (mid + 1, high);
        }

        return low;
    }
}
