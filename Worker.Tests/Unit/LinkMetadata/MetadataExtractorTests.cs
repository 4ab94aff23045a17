using System.Text;
using Worker.Jobs.LinkMetadata.Extraction;

namespace Worker.Tests.Unit.LinkMetadata;

[TestFixture]
public sealed class MetadataExtractorTests
{
    private static readonly Uri Page = new("https://news.example.com/articles/42?ref=home");

    static MetadataExtractorTests() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    private static LinkPreview Html(string html, string contentType = "text/html; charset=utf-8", Uri? url = null, IReadOnlyList<string>? links = null) =>
        MetadataExtractor.Extract(Encoding.UTF8.GetBytes(html), contentType, url ?? Page, links);

    [Test]
    public void Extract_EverySourcePresent_OpenGraphWinsAndSourcesAreRecorded()
    {
        var preview = Html("""
            <html lang="fr"><head>
            <title>HTML title</title>
            <meta name="description" content="html description">
            <meta name="twitter:title" content="Twitter title">
            <meta property="og:title" content="OG title">
            <meta name="twitter:description" content="twitter description">
            <script type="application/ld+json">{"@type":"NewsArticle","headline":"LD title","description":"ld description","author":{"@type":"Person","name":"Ada Lovelace"},"datePublished":"2024-03-01T10:00:00+02:00"}</script>
            </head><body><h1>Heading</h1></body></html>
            """);

        Assert.Multiple(() =>
        {
            Assert.That(preview.Title, Is.EqualTo("OG title"));
            Assert.That(preview.Sources["title"], Is.EqualTo("og"));
            Assert.That(preview.Description, Is.EqualTo("twitter description"));
            Assert.That(preview.Sources["description"], Is.EqualTo("twitter"));
            Assert.That(preview.Author, Is.EqualTo("Ada Lovelace"));
            Assert.That(preview.Sources["author"], Is.EqualTo("jsonld"));
            Assert.That(preview.PublishedAt, Is.EqualTo("2024-03-01T08:00:00.000Z"));
            Assert.That(preview.Lang, Is.EqualTo("fr"));
            Assert.That(preview.Sources["lang"], Is.EqualTo("html"));
        });
    }

    [Test]
    public void Extract_OnlyPlainHtml_FallsBackToTitleDescriptionHeadingAndArticleImage()
    {
        var preview = Html("""
            <html><head><title>  Plain   &amp; simple  </title><meta name="description" content="Described &quot;here&quot;"></head>
            <body><nav><img src="/logo.png" width="40" height="40"></nav><article><h1>Ignored heading</h1>
            <img data-src="/lazy.jpg" src="data:image/gif;base64,R0lGOD" width="800" height="400" alt="A photo"></article></body></html>
            """);

        Assert.Multiple(() =>
        {
            Assert.That(preview.Title, Is.EqualTo("Plain & simple"));
            Assert.That(preview.Description, Is.EqualTo("Described \"here\""));
            Assert.That(preview.Image?.Url, Is.EqualTo("https://news.example.com/lazy.jpg"));
            Assert.That(preview.Image?.Width, Is.EqualTo(800));
            Assert.That(preview.Image?.Alt, Is.EqualTo("A photo"));
            Assert.That(preview.Sources["image"], Is.EqualTo("html"));
            Assert.That(preview.Url, Is.EqualTo(Page.AbsoluteUri));
            Assert.That(preview.Sources["url"], Is.EqualTo("url"));
        });
    }

    [Test]
    public void Extract_JsonLdGraph_FindsTheArticleAndItsPublisher()
    {
        var preview = Html("""
            <head><script type="application/ld+json">
            {"@context":"https://schema.org","@graph":[
              {"@type":"WebSite","name":"Example Site"},
              {"@type":"Organization","name":"Example Org","logo":{"@type":"ImageObject","url":"https://cdn.example.com/logo.png"}},
              {"@type":["Article"],"headline":"Graph headline","image":[{"url":"/img/a.jpg"}],"author":[{"name":"Grace Hopper"}],"inLanguage":"de-DE"}
            ]}</script><script type="application/ld+json">{ broken json </script></head>
            """);

        Assert.Multiple(() =>
        {
            Assert.That(preview.Title, Is.EqualTo("Graph headline"));
            Assert.That(preview.Image?.Url, Is.EqualTo("https://news.example.com/img/a.jpg"));
            Assert.That(preview.Author, Is.EqualTo("Grace Hopper"));
            Assert.That(preview.SiteName, Is.EqualTo("Example Org"));
            Assert.That(preview.Lang, Is.EqualTo("de-DE"), "the tag as the page gives it");
            Assert.That(preview.Sources["title"], Is.EqualTo("jsonld"));
        });
    }

    [Test]
    public void Extract_Microdata_ReadsItemprops()
    {
        var preview = Html("""
            <body><div itemscope itemtype="https://schema.org/Recipe"><span itemprop="name">Lemon cake</span>
            <p itemprop="description">A cake with lemons.</p><img itemprop="image" src="cake.jpg">
            <span itemprop="author" itemscope><span itemprop="name">Julia</span></span></div></body>
            """);

        Assert.Multiple(() =>
        {
            Assert.That(preview.Title, Is.EqualTo("Lemon cake"));
            Assert.That(preview.Sources["title"], Is.EqualTo("microdata"));
            Assert.That(preview.Description, Is.EqualTo("A cake with lemons."));
            Assert.That(preview.Image?.Url, Is.EqualTo("https://news.example.com/articles/cake.jpg"));
            Assert.That(preview.Author, Is.EqualTo("Julia"));
        });
    }

    [Test]
    public void Extract_BaseHrefAndRelativeUrls_ResolvedAgainstTheBase()
    {
        var preview = Html("""
            <head><base href="https://static.example.net/assets/"><meta property="og:image" content="img/card.png">
            <link rel="canonical" href="/canonical"><link rel="icon" href="//cdn.example.net/fav.ico" sizes="32x32"></head>
            """);

        Assert.Multiple(() =>
        {
            Assert.That(preview.Image?.Url, Is.EqualTo("https://static.example.net/assets/img/card.png"));
            Assert.That(preview.Url, Is.EqualTo("https://static.example.net/canonical"));
            Assert.That(preview.Logo, Is.EqualTo("https://cdn.example.net/fav.ico"));
        });
    }

    [Test]
    public void Extract_Srcset_TakesTheLargestCandidate()
    {
        var preview = Html("""<body><main><img srcset="/s.jpg 320w, /m.jpg 800w, /l.jpg 1600w" src="/s.jpg"></main></body>""");

        Assert.That(preview.Image?.Url, Is.EqualTo("https://news.example.com/l.jpg"));
    }

    [Test]
    public void Extract_LongValuesAndWhitespace_CollapsedAndCapped()
    {
        var preview = Html($"""<head><meta property="og:title" content="{string.Join("\n\t ", Enumerable.Repeat("word", 500))}"><meta property="og:description" content="{new string('d', 5000)}"></head>""");

        Assert.Multiple(() =>
        {
            Assert.That(preview.Title, Has.Length.LessThanOrEqualTo(TextCleaner.MaxTitle));
            Assert.That(preview.Title, Does.Not.Contain("\n").And.Not.Contain("  "));
            Assert.That(preview.Description, Has.Length.EqualTo(TextCleaner.MaxDescription));
        });
    }

    [TestCase("shift_jis", "日本語のタイトル")]
    [TestCase("euc-jp", "日本語のタイトル")]
    [TestCase("gbk", "中文标题")]
    [TestCase("windows-1251", "Заголовок страницы")]
    [TestCase("iso-8859-2", "Żółć gęślą jaźń")]
    [TestCase("windows-1252", "Café déjà vu")]
    public void Extract_LegacyCharsetInTheHeader_Decoded(string charset, string title)
    {
        var bytes = Encoding.GetEncoding(charset).GetBytes($"<html><head><title>{title}</title></head></html>");

        var preview = MetadataExtractor.Extract(bytes, $"text/html; charset={charset}", Page);

        Assert.That(preview.Title, Is.EqualTo(title));
    }

    [TestCase("shift_jis", "日本語のタイトル")]
    [TestCase("windows-1251", "Заголовок страницы")]
    [TestCase("gb2312", "中文标题")]
    public void Extract_LegacyCharsetInAMetaTag_Decoded(string charset, string title)
    {
        var bytes = Encoding.GetEncoding(charset).GetBytes($"<html><head><meta charset=\"{charset}\"><title>{title}</title></head></html>");

        Assert.That(MetadataExtractor.Extract(bytes, "text/html", Page).Title, Is.EqualTo(title));
    }

    [Test]
    public void Extract_HttpEquivCharset_Decoded()
    {
        var bytes = Encoding.GetEncoding("euc-jp").GetBytes("<head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=EUC-JP\"><title>日本</title></head>");

        Assert.That(MetadataExtractor.Extract(bytes, "text/html", Page).Title, Is.EqualTo("日本"));
    }

    [Test]
    public void Extract_Utf16WithByteOrderMark_Decoded()
    {
        var bytes = Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("<title>Unicode ✓</title>")).ToArray();

        Assert.That(MetadataExtractor.Extract(bytes, "text/html", Page).Title, Is.EqualTo("Unicode ✓"));
    }

    [Test]
    public void Extract_Utf8BytesUnderAStaleLegacyMetaTag_DecodedAsUtf8()
    {
        var bytes = Encoding.UTF8.GetBytes("<head><meta charset=\"windows-1251\"><title>Пикабу</title></head>");

        Assert.That(MetadataExtractor.Extract(bytes, "text/html", Page).Title, Is.EqualTo("Пикабу"));
    }

    [TestCase("image/png", "image")]
    [TestCase("audio/mpeg", "audio")]
    [TestCase("video/mp4", "video")]
    public void Extract_DirectMediaLink_DescribedFromTypeAndUrlWithoutParsing(string contentType, string kind)
    {
        var url = new Uri("https://files.example.com/media/My%20Holiday.bin");

        var preview = MetadataExtractor.Extract("\u0089PNG garbage"u8, contentType, url);

        Assert.Multiple(() =>
        {
            Assert.That(preview.ContentKind, Is.EqualTo(kind));
            Assert.That(preview.Title, Is.EqualTo("My Holiday.bin"));
            Assert.That(kind switch { "image" => preview.Image?.Url, "audio" => preview.Audio, _ => preview.Video }, Is.EqualTo(url.AbsoluteUri));
        });
    }

    [TestCase("application/pdf")]
    [TestCase("application/zip")]
    [TestCase("text/plain")]
    public void Extract_OtherContentType_Unsupported(string contentType)
    {
        var preview = MetadataExtractor.Extract("%PDF-1.4 <title>no</title>"u8, contentType, Page);

        Assert.That(preview.ContentKind, Is.EqualTo("unsupported"));
        Assert.That(preview.Title, Is.Null);
    }

    [TestCase("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=10", "YouTube", "https://www.youtube.com/embed/dQw4w9WgXcQ")]
    [TestCase("https://youtu.be/dQw4w9WgXcQ", "YouTube", "https://www.youtube.com/embed/dQw4w9WgXcQ")]
    [TestCase("https://www.youtube.com/shorts/dQw4w9WgXcQ", "YouTube", "https://www.youtube.com/embed/dQw4w9WgXcQ")]
    [TestCase("https://vimeo.com/76979871", "Vimeo", "https://player.vimeo.com/video/76979871")]
    [TestCase("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC", "Spotify", "https://open.spotify.com/embed/track/4uLU6hMCjMI75M1A2tKUQC")]
    [TestCase("https://open.spotify.com/intl-de/album/1DFixLWuPkv3KT3TnV35m3", "Spotify", "https://open.spotify.com/embed/album/1DFixLWuPkv3KT3TnV35m3")]
    public void Extract_KnownPlayerUrl_BuildsTheEmbed(string url, string provider, string player)
    {
        var preview = Html("<title>x</title>", url: new Uri(url));

        Assert.That(preview.Embed?.Provider, Is.EqualTo(provider));
        Assert.That(preview.Embed?.Url, Is.EqualTo(player));
        Assert.That(preview.Embed?.Html, Does.StartWith("<iframe src=\"" + player));
    }

    [Test]
    public void Extract_BandcampOgVideo_BecomesThePlayer()
    {
        var preview = Html("""
            <head><meta property="og:video" content="https://bandcamp.com/EmbeddedPlayer/v=2/album=1234/size=large/tracklist=false/artwork=small/">
            <meta property="og:video:type" content="text/html"><meta property="og:video:width" content="400"><meta property="og:video:height" content="120"></head>
            """, url: new Uri("https://artist.bandcamp.com/album/record"));

        Assert.Multiple(() =>
        {
            Assert.That(preview.Embed?.Provider, Is.EqualTo("Bandcamp"));
            Assert.That(preview.Embed?.Url, Does.StartWith("https://bandcamp.com/EmbeddedPlayer/"));
            Assert.That(preview.Embed?.Width, Is.EqualTo(400));
            Assert.That(preview.Video, Is.Null, "a player page is not a video file");
        });
    }

    [Test]
    public void Extract_SoundCloudTwitterPlayer_BecomesThePlayer()
    {
        var preview = Html("""<head><meta name="twitter:player" content="https://w.soundcloud.com/player/?url=https%3A%2F%2Fapi.soundcloud.com%2Ftracks%2F1"></head>""",
            url: new Uri("https://soundcloud.com/artist/track"));

        Assert.That(preview.Embed?.Provider, Is.EqualTo("SoundCloud"));
        Assert.That(preview.Embed?.Url, Does.StartWith("https://w.soundcloud.com/player/"));
    }

    [Test]
    public void Extract_OEmbedLinkTag_Discovered()
    {
        var preview = Html("""<head><link rel="alternate" type="application/json+oembed" href="/oembed?url=x&amp;format=json"></head>""");

        Assert.That(preview.OEmbedUrl, Is.EqualTo("https://news.example.com/oembed?url=x&format=json"));
    }

    [Test]
    public void Extract_OEmbedLinkHeader_Discovered()
    {
        var preview = Html("<title>t</title>", links: ["<https://api.example.com/oembed?url=y>; rel=\"alternate\"; type=\"application/json+oembed\", </style.css>; rel=preload"]);

        Assert.That(preview.OEmbedUrl, Is.EqualTo("https://api.example.com/oembed?url=y"));
    }

    [Test]
    public void Extract_HundredThousandNestedElements_ReturnsTheHeadWithoutThrowing()
    {
        var html = "<html><head><title>Deep</title></head><body>" + string.Concat(Enumerable.Repeat("<div>", 100_000)) + "</body></html>";

        var preview = Html(html);

        Assert.That(preview.Title, Is.EqualTo("Deep"));
    }

    [Test]
    public void Extract_DeepNestingWithoutABodyTag_StillReadsTheTitle()
    {
        var preview = Html("<title>No body</title>" + string.Concat(Enumerable.Repeat("<span>", 100_000)));

        Assert.That(preview.Title, Is.EqualTo("No body"));
    }

    [Test]
    public void Extract_RandomBytes_DoesNotThrow()
    {
        var random = new Random(7);
        for (var i = 0; i < 50; i++)
        {
            var bytes = new byte[random.Next(0, 20_000)];
            random.NextBytes(bytes);
            Assert.That(() => MetadataExtractor.Extract(bytes, i % 2 == 0 ? "text/html" : null, Page), Throws.Nothing);
        }
    }

    [Test]
    public void Extract_UnsafeUrls_AreNotReturned()
    {
        var preview = Html("""<head><meta property="og:image" content="javascript:alert(1)"><meta property="og:url" content="data:text/html,x"><meta name="twitter:image" content="https://cdn.example.com/ok.png"></head>""");

        Assert.That(preview.Image?.Url, Is.EqualTo("https://cdn.example.com/ok.png"));
        Assert.That(preview.Url, Is.EqualTo(Page.AbsoluteUri));
    }
}
