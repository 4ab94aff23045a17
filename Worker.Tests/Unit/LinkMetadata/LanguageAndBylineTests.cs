using System.Text;
using Worker.Jobs.LinkMetadata.Extraction;

namespace Worker.Tests.Unit.LinkMetadata;

/// <summary>Issue 19's quality rules: the page's BCP 47 tag kept, bylines printed in the page found.</summary>
[TestFixture]
public sealed class LanguageAndBylineTests
{
    private static LinkPreview Html(string html, string? contentLanguage = null) =>
        MetadataExtractor.Extract(Encoding.UTF8.GetBytes(html), "text/html", new Uri("https://news.example.com/a"), contentLanguage: contentLanguage);

    [TestCase("en-US", "en-US")]
    [TestCase("pt-BR", "pt-BR")]
    [TestCase("zh-TW", "zh-TW")]
    [TestCase("en-gb", "en-GB")]
    [TestCase("EN", "en")]
    [TestCase("zh-hant-tw", "zh-Hant-TW")]
    [TestCase("es-419", "es-419")]
    public void Extract_HtmlLang_TheTagAsGivenWithItsCaseNormalised(string lang, string expected) =>
        Assert.That(Html($"<html lang=\"{lang}\"><title>t</title></html>").Lang, Is.EqualTo(expected));

    [Test]
    public void Extract_NoHtmlLang_OgLocaleWithAHyphen()
    {
        var preview = Html("""<html><head><meta property="og:locale" content="en_US"></head></html>""");

        Assert.That((preview.Lang, preview.Sources["lang"]), Is.EqualTo(("en-US", "og")));
    }

    [Test]
    public void Extract_HtmlLangAndOgLocale_TheHtmlLangWins() =>
        Assert.That(Html("""<html lang="pt-BR"><head><meta property="og:locale" content="pt_PT"></head></html>""").Lang, Is.EqualTo("pt-BR"));

    [Test]
    public void Extract_OnlyAMetaContentLanguage_ItsFirstTag() =>
        Assert.That(Html("""<meta http-equiv="Content-Language" content="de-AT, en">""").Lang, Is.EqualTo("de-AT"));

    [Test]
    public void Extract_OnlyTheHttpContentLanguage_ThatTag()
    {
        var preview = Html("<title>t</title>", contentLanguage: "fr-CA");

        Assert.That((preview.Lang, preview.Sources["lang"]), Is.EqualTo(("fr-CA", "http")));
    }

    [TestCase("en_US.UTF-8", "en-US")]
    [TestCase("x-default", null)]
    [TestCase("english", null)]
    public void Language_OddSpellings_ValidPartOrNothing(string raw, string? expected) =>
        Assert.That(MetadataExtractor.Language(raw), Is.EqualTo(expected));

    [Test]
    public void Extract_RelAuthorLinks_JoinedInPageOrder()
    {
        var preview = Html("""<body><p class="meta">By <a rel="author" href="/a">Ada Lovelace</a> and <a rel="author" href="/g">Grace Hopper</a></p></body>""");

        Assert.That((preview.Author, preview.Sources["author"]), Is.EqualTo(("Ada Lovelace, Grace Hopper", "html")));
    }

    [Test]
    public void Extract_ItempropAuthorWithName_TheNames()
    {
        var preview = Html("""
            <article><div class="credits"><span itemprop="author" itemscope><span itemprop="name">Julia Evans</span></span>,
            <span itemprop="author" itemscope><span itemprop="name">Kelsey Hightower</span></span></div></article>
            """);

        Assert.That((preview.Author, preview.Sources["author"]), Is.EqualTo(("Julia Evans, Kelsey Hightower", "microdata")));
    }

    [Test]
    public void Extract_ItempropAuthorWithoutName_ItsText() =>
        Assert.That(Html("""<body><span itemprop="author">Barbara Liskov</span></body>""").Author, Is.EqualTo("Barbara Liskov"));

    [TestCase("""<div class="byline">By Margaret Hamilton</div>""", "Margaret Hamilton")]
    [TestCase("""<div id="byline">By Margaret Hamilton</div>""", "Margaret Hamilton")]
    [TestCase("""<span class="article-author">Margaret Hamilton</span>""", "Margaret Hamilton")]
    [TestCase("""<div class="byline"><span class="author-name">Margaret Hamilton</span> · 5 min read</div>""", "Margaret Hamilton")]
    [TestCase("""<div class="post-author"><a href="/people/mh">Margaret Hamilton</a> <span>Staff writer, Apollo desk</span></div>""", "Margaret Hamilton")]
    [TestCase("""<p>Written by <a href="/author/margaret-hamilton">Margaret Hamilton</a></p>""", "Margaret Hamilton")]
    public void Extract_BylineByClassOrId_TheName(string byline, string expected) =>
        Assert.That(Html($"<body><h1>Headline</h1>{byline}<p>Body text.</p></body>").Author, Is.EqualTo(expected));

    [Test]
    public void Extract_AuthorBioOrAuthorityClasses_NoByline() =>
        Assert.That(Html("""<body><div class="author-bio">Writes about rockets since 1969.</div><div class="authority-score">9</div></body>""").Author, Is.Null);

    [Test]
    public void Extract_CommentAuthorsInSeparateComments_OnlyTheFirst()
    {
        var preview = Html("""
            <body><ul class="comments">
            <li><div class="comment"><span class="comment-author">First Reader</span><p>Nice</p></div></li>
            <li><div class="comment"><span class="comment-author">Second Reader</span><p>Agreed</p></div></li>
            </ul></body>
            """);

        Assert.That(preview.Author, Is.EqualTo("First Reader"));
    }

    [Test]
    public void Extract_JsonLdAuthorArray_JoinedInOrder()
    {
        var preview = Html("""
            <script type="application/ld+json">{"@type":"NewsArticle","author":[{"@type":"Person","name":"David K. Li"},{"@type":"Person","name":"Doha Madani"}]}</script>
            """);

        Assert.That(preview.Author, Is.EqualTo("David K. Li, Doha Madani"));
    }

    [Test]
    public void Extract_MetaAuthorAndAByline_TheMetaWins() =>
        Assert.That(Html("""<meta name="author" content="Meta Name"><body><div class="byline">By Someone Else</div></body>""").Author, Is.EqualTo("Meta Name"));
}
