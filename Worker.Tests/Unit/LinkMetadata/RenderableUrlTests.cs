using System.Text;
using Worker.Jobs.LinkMetadata.Extraction;

namespace Worker.Tests.Unit.LinkMetadata;

[TestFixture]
public sealed class RenderableUrlTests
{
    [TestCase("https://cdn.example.com/i.png")]
    [TestCase("http://cdn.example.com/i.png")]
    [TestCase("https://93.184.216.34/i.png")]
    [TestCase("https://[2606:2800:220:1:248:1893:25c8:1946]/i.png")]
    public void IsSafe_PublicHttpUrl_True(string url) => Assert.That(RenderableUrl.IsSafe(url, httpsOnly: false), Is.True);

    [TestCase("http://169.254.169.254/latest/")]
    [TestCase("https://192.168.1.1/v.mp4")]
    [TestCase("http://127.0.0.1:9/i.png")]
    [TestCase("http://2130706433/i.png")]
    [TestCase("http://0x7f.1/i.png")]
    [TestCase("http://[::1]/i.png")]
    [TestCase("http://[::ffff:10.0.0.1]/i.png")]
    [TestCase("http://[fd00::1]/i.png")]
    [TestCase("http://localhost/i.png")]
    [TestCase("http://LOCALHOST./i.png")]
    [TestCase("http://app.localhost/i.png")]
    [TestCase("http://printer.local/i.png")]
    [TestCase("http://metadata.google.internal/i.png")]
    [TestCase("http://router.home.arpa/i.png")]
    [TestCase("http://intranet/i.png")]
    [TestCase("ftp://files.example.com/i.png")]
    [TestCase("javascript:alert(1)")]
    [TestCase("https://user:secret@cdn.example.com/i.png")]
    public void IsSafe_InternalOrNotHttp_False(string url) => Assert.That(RenderableUrl.IsSafe(url, httpsOnly: false), Is.False);

    [Test]
    public void IsSafe_PlainHttpPlayer_FalseForPlayersAreHttpsOnly()
    {
        Assert.That(RenderableUrl.IsSafe("http://player.example.com/embed/1", httpsOnly: true), Is.False);
        Assert.That(RenderableUrl.IsSafe("https://player.example.com/embed/1", httpsOnly: true), Is.True);
    }

    [Test]
    public void IsSafe_LoopbackWhenAllowedForTests_TrueAndNothingElseIs()
    {
        Assert.That(RenderableUrl.IsSafe("http://127.0.0.1:9/i.png", httpsOnly: false, allowLoopback: true), Is.True);
        Assert.That(RenderableUrl.IsSafe("http://10.0.0.1/i.png", httpsOnly: false, allowLoopback: true), Is.False);
    }

    [Test]
    public void Extract_VideoPlayerAndImageOnInternalAddresses_NoneStoredAndEachReported()
    {
        var preview = MetadataExtractor.Extract(Encoding.UTF8.GetBytes("""
            <html><head><title>t</title>
            <meta property="og:video" content="http://169.254.169.254/latest/"><meta property="og:video:type" content="text/html">
            <meta name="twitter:player" content="https://192.168.1.1/v.mp4">
            <meta property="og:image" content="http://127.0.0.1:9/i.png">
            <meta property="og:audio" content="http://localhost/a.mp3">
            </head><body><video src="http://10.0.0.7/v.mp4"></video></body></html>
            """), "text/html", new Uri("https://news.example.com/a"));

        Assert.Multiple(() =>
        {
            Assert.That(preview.Embed, Is.Null);
            Assert.That(preview.Image, Is.Null);
            Assert.That(preview.Video, Is.Null);
            Assert.That(preview.Audio, Is.Null);
            Assert.That(preview.DroppedUrls.Select(d => d.Url), Is.SupersetOf(new[]
            {
                "http://169.254.169.254/latest/", "https://192.168.1.1/v.mp4", "http://127.0.0.1:9/i.png", "http://localhost/a.mp3", "http://10.0.0.7/v.mp4",
            }));
        });
    }

    [Test]
    public void Extract_InternalOgImageAndPublicTwitterImage_TheNextSourceAnswers()
    {
        var preview = MetadataExtractor.Extract(Encoding.UTF8.GetBytes("""
            <meta property="og:image" content="http://10.0.0.1/i.png"><meta name="twitter:image" content="https://cdn.example.com/card.png">
            """), "text/html", new Uri("https://news.example.com/a"));

        Assert.That((preview.Image?.Url, preview.Sources["image"]), Is.EqualTo(("https://cdn.example.com/card.png", "twitter")));
    }

    [Test]
    public void Extract_PlayerOverPlainHttp_NoEmbed()
    {
        var preview = MetadataExtractor.Extract(Encoding.UTF8.GetBytes("""
            <meta name="twitter:player" content="http://player.example.com/embed/1">
            """), "text/html", new Uri("https://news.example.com/a"));

        Assert.That(preview.Embed, Is.Null);
    }
}
