using System.Text;
using HtmlAgilityPack;
using Worker.Jobs.LinkMetadata.Extraction;

namespace Worker.Tests.Unit.LinkMetadata;

/// <summary>
/// The pre-parse filter must leave HtmlAgilityPack with the same tree: same elements, read attributes and text, only
/// the text of cut scripts, styles and comments and the attributes nothing reads gone. <see cref="AssertSameTree"/>
/// checks exactly that.
/// </summary>
[TestFixture]
public sealed class UnreadContentFilterTests
{
    private static readonly string LongText = string.Join(' ', Enumerable.Repeat("A sentence long enough to describe the page.", 4));

    /// <summary>
    /// The filter cuts every attribute not in <see cref="PageSignals.AttributesRead"/>: an attribute the extraction
    /// starts to read (by name or in an XPath) without being added there would silently read nothing.
    /// </summary>
    [Test]
    public void AttributesRead_ListsEveryAttributeTheExtractionReads()
    {
        var root = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "worker.sln")))
        {
            root = root.Parent;
        }

        Assert.That(root, Is.Not.Null, "worker.sln not found above the test directory");
        var read = Directory.EnumerateFiles(Path.Combine(root!.FullName, "Worker", "Jobs", "LinkMetadata", "Extraction"), "*.cs")
            .SelectMany(file => System.Text.RegularExpressions.Regex.Matches(
                File.ReadAllText(file), """GetAttributeValue\("([^"]+)"|\[@([a-zA-Z:_-]+)""").Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value))
            .Distinct()
            .ToList();

        Assert.That(read, Has.Count.GreaterThan(10), "the scan found the attribute reads");
        Assert.That(read, Is.SubsetOf(PageSignals.AttributesRead));
    }

    [Test]
    public void Strip_ScriptAndStyle_ContentCutAndTagsKept()
    {
        const string html = "<head><script src=a.js>var x = 1;</script><style media=all>p { color: red }</style></head>";
        // (media is an attribute nothing reads: cut too.)

        var stripped = UnreadContentFilter.Strip(html);

        Assert.That(stripped, Is.EqualTo("<head><script src=a.js></script><style ></style></head>"));
        AssertSameTree(html);
    }

    [Test]
    public void Strip_JsonLdScript_KeptWhole()
    {
        const string html = """<script type="application/ld+json">{"@type":"Article","headline":"H"}</script><script>x()</script>""";

        var stripped = UnreadContentFilter.Strip(html);

        Assert.That(stripped, Is.EqualTo("""<script type="application/ld+json">{"@type":"Article","headline":"H"}</script><script></script>"""));
    }

    [Test]
    public void Strip_ScriptWithItemprop_KeptWhole()
    {
        const string html = "<div itemscope><script itemprop=name>Name</script></div>";

        Assert.That(UnreadContentFilter.Strip(html), Is.EqualTo("<div ><script itemprop=name>Name</script></div>"));
    }

    [Test]
    public void Strip_ClosingTagInsideAStringLiteral_EndsTheScriptThereAsTheParserDoes()
    {
        const string html = """<script>var s = "</script>"; var t = 1;</script><p>after</p>""";

        var stripped = UnreadContentFilter.Strip(html);

        Assert.That(stripped, Is.EqualTo("""<script></script>"; var t = 1;</script><p>after</p>"""));
        AssertSameTree(html);
    }

    [Test]
    public void Strip_ClosingTagWithoutDelimiter_DoesNotEndTheScript()
    {
        const string html = "<script>a = '</scripts>'; b = '</script/>';</script ><p>after</p>";

        Assert.That(UnreadContentFilter.Strip(html), Is.EqualTo("<script></script ><p>after</p>"));
        AssertSameTree(html);
    }

    [Test]
    public void Strip_UnclosedScriptAtTheEnd_LeftAsItIs()
    {
        const string html = "<p>before</p><script>var never = 'closed';";

        Assert.That(UnreadContentFilter.Strip(html), Is.SameAs(html));
    }

    [Test]
    public void Strip_CommentContainingTags_EmptiedAndTheTagsInsideIgnored()
    {
        const string html = "<!-- <script> --><p>kept</p><!-- </p><style>x{} --!><b>b</b>";

        var stripped = UnreadContentFilter.Strip(html);

        Assert.That(stripped, Is.EqualTo("<!----><p>kept</p><!----!><b>b</b>"));
        AssertSameTree(html);
    }

    [Test]
    public void Strip_ShortAndNonStandardComments_LeftAsTheyAre()
    {
        const string html = "<!DOCTYPE html><!--><p>x</p><!---><?xml version=\"1.0\"?><![CDATA[ <script>a</script> ]]>";

        AssertSameTree(html);
    }

    [Test]
    public void Strip_ScriptTagInsideAQuotedAttribute_IsNotAScript()
    {
        const string html = """<a title="<script>" href='x>y'>link</a><p>text</p><script>cut</script>""";

        Assert.That(UnreadContentFilter.Strip(html), Is.EqualTo("""<a  href='x>y'>link</a><p>text</p><script></script>"""));
        AssertSameTree(html);
    }

    [Test]
    public void Strip_ScriptTagInsideTitleOrTextarea_IsNotAScript()
    {
        const string html = "<title>a <script> b</title><textarea><style>x</style></textarea><script>cut</script>";

        Assert.That(UnreadContentFilter.Strip(html), Is.EqualTo("<title>a <script> b</title><textarea><style>x</style></textarea><script></script>"));
        AssertSameTree(html);
    }

    [Test]
    public void Strip_TagBrokenByAnotherTag_FollowsTheParser()
    {
        const string html = "<script <p>not raw text</p><script/>cut</script><div class=x<style>y</style>";

        AssertSameTree(html);
        Assert.That(UnreadContentFilter.Strip(html), Does.Contain("<script/></script>"));
    }

    [TestCase("<p>a</p><% server code %><script>x</script>")]
    [TestCase("<html><head itemprop=x><script>x</script></head></html>")]
    public void Strip_PagesTheParserReadsDifferently_Unchanged(string html)
    {
        Assert.That(UnreadContentFilter.Strip(html), Is.SameAs(html));
    }

    [Test]
    public void Strip_AttributesNothingReads_CutAndTheOthersKept()
    {
        const string html = """<div id=main data-props='{"a":"<b>"}' class="author-name" hidden style=x><img DATA-X=1 SRC=a.jpg width=200 aria-label="y" class=photo/></div>""";

        var stripped = UnreadContentFilter.Strip(html);

        Assert.That(stripped, Is.EqualTo("""<div id=main  class="author-name" style=x><img  SRC=a.jpg width=200  ></div>"""), "id and class are read on a div (bylines), not on an img");
        AssertSameTree(html);
    }

    [TestCase("<td/--><b>x</b>", "a '/' then '>' would close the td")]
    [TestCase("<td/data-x><b>x</b>", "a '/' then '>' would close the td")]
    [TestCase("<a href data-x=1 =2>x</a>", "a valueless attribute would take the value")]
    [TestCase("<a href data-x =2>x</a>", "a valueless attribute would take the value")]
    public void Strip_AttributeWhoseCutWouldJoinItsNeighbours_Kept(string html, string why)
    {
        Assert.That(UnreadContentFilter.Strip(html), Is.SameAs(html), why);
        AssertSameTree(html);
    }

    [Test]
    public void Strip_AttributesOfABrokenOrUnfinishedTag_LeftAsTheyAre()
    {
        const string html = "<div data-a=1 data-b=<p>x</p><span data-c='never closed";

        Assert.That(UnreadContentFilter.Strip(html), Is.SameAs(html));
    }

    [Test]
    public void Extract_ParagraphAfterAHugeScript_StillFound()
    {
        var html = "<html><head><script>" + new string('x', 3_000_000) + "</script></head><body><p>" + LongText + "</p></body></html>";

        var preview = MetadataExtractor.Extract(Encoding.UTF8.GetBytes(html), "text/html", new Uri("https://example.com/"));

        Assert.That(preview.Description, Is.EqualTo(LongText));
    }

    [Test]
    public void Strip_CorpusPages_ParseToTheSameTree()
    {
        foreach (var page in Corpus.Pages())
        {
            var html = CharsetDetector.Decode(File.ReadAllBytes(page.HtmlPath), "text/html");
            AssertSameTree(html, page.Site);
        }
    }

    /// <summary>Tag soup from the pieces the tokenizer cares about; a fixed seed, so a failure can be replayed.</summary>
    [Test]
    public void Strip_RandomTagSoup_ParsesToTheSameTree()
    {
        string[] pieces =
        [
            "<", ">", "/", "=", "\"", "'", " ", "\n", "\t", "<!--", "-->", "--!>", "<!", "<?", "!", "-", "<%", "%>", "&amp;", "<1", "</",
            "<script", "</script", "<SCRIPT", "</Script", "<style", "</style", "<title", "</title", "<textarea", "</textarea", "<head",
            "</head", "<div", "</div", "<p", "</p", "<a", "</a", "<b", "</b", "<br", "<img", "<li", "<td", "<svg", "</svg", "<!DOCTYPE html>",
            " type=application/ld+json", " itemprop=x", " class=author-name", " id=", " data-x=", " src=", " href=", " style", "x", "json",
        ];
        var random = new Random(42);
        for (var i = 0; i < 20_000; i++)
        {
            var html = string.Concat(Enumerable.Range(0, random.Next(1, 60)).Select(_ => pieces[random.Next(pieces.Length)]));
            AssertSameTree(html, html);
        }
    }

    /// <summary>Parses the page as it is and filtered, and compares the two trees node by node.</summary>
    private static void AssertSameTree(string html, string? label = null)
    {
        var filtered = UnreadContentFilter.Strip(html);
        var expected = Load(html).DocumentNode;
        var actual = Load(filtered).DocumentNode;
        var pending = new Stack<(HtmlNode Expected, HtmlNode Actual, string Path)>();
        pending.Push((expected, actual, label ?? "page"));
        while (pending.Count > 0)
        {
            var (e, a, path) = pending.Pop();
            Assert.That((a.NodeType, a.Name), Is.EqualTo((e.NodeType, e.Name)), path);
            // The filtered element has the same attributes in the same order, less some that nothing reads.
            var kept = a.Attributes.Select(x => (x.Name, x.Value)).ToList();
            var next = 0;
            foreach (var attribute in e.Attributes)
            {
                if (next < kept.Count && kept[next] == (attribute.Name, attribute.Value))
                {
                    next++;
                    continue;
                }

                Assert.That(IsRead(e.Name, attribute.Name), Is.False, $"{path}: {attribute.Name} cut");
            }

            Assert.That(next, Is.EqualTo(kept.Count), $"{path}: attributes");
            if (e.NodeType == HtmlNodeType.Text)
            {
                // Only the text of a script or style may be gone, and then all of it.
                var cut = e.ParentNode?.Name is "script" or "style" && ((HtmlTextNode)a).Text.Length == 0;
                Assert.That(cut || ((HtmlTextNode)a).Text == ((HtmlTextNode)e).Text, Is.True, path);
            }

            Assert.That(a.ChildNodes, Has.Count.EqualTo(e.ChildNodes.Count), path);
            for (var i = 0; i < e.ChildNodes.Count; i++)
            {
                pending.Push((e.ChildNodes[i], a.ChildNodes[i], $"{path}/{e.ChildNodes[i].Name}[{i}]"));
            }
        }

        Assert.That(actual.InnerText, Is.EqualTo(expected.InnerText), label);
    }

    private static bool IsRead(string element, string attribute) =>
        (attribute is "class" or "id" ? PageSignals.ReadsClassOn(element) : PageSignals.AttributesRead.Contains(attribute, StringComparer.OrdinalIgnoreCase))
        || !attribute.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or ':' or '.');

    private static HtmlDocument Load(string html)
    {
        var document = new HtmlDocument { OptionMaxNestedChildNodes = 512 };
        document.LoadHtml(html);
        return document;
    }
}
