using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Options;
using Worker.Jobs.LinkMetadata.Fetching;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.LinkMetadata;

/// <summary>The fetcher against hostile local servers. Only loopback is ever dialled, and only when a test allows it.</summary>
[TestFixture]
public sealed class LinkFetcherTests
{
    private static readonly Lazy<byte[]> GzipBomb = new(() =>
    {
        // 256 MB of zeros compress to about 250 KB.
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            var zeros = new byte[1 << 20];
            for (var i = 0; i < 256; i++)
            {
                gzip.Write(zeros);
            }
        }

        return output.ToArray();
    });

    private static LinkFetcher Fetcher(PageServer server, Action<LinkFetcherOptions>? tune = null, bool allowLoopback = true)
    {
        var options = new LinkFetcherOptions { AllowLoopback = allowLoopback, AllowedPorts = [server.Port, 80, 443], Timeout = TimeSpan.FromSeconds(10) };
        tune?.Invoke(options);
        return new LinkFetcher(Options.Create(options));
    }

    [Test]
    public async Task FetchPage_LoopbackAllowedForTests_ReturnsTheBody()
    {
        await using var server = new PageServer().Html("/", "<title>Hello</title>");
        using var fetcher = Fetcher(server);

        var page = await fetcher.FetchPageAsync(server.Url("/"), CancellationToken.None);

        Assert.That(page.StatusCode, Is.EqualTo(200));
        Assert.That(Encoding.UTF8.GetString(page.Body.Span), Is.EqualTo("<title>Hello</title>"));
    }

    [TestCase("http://127.0.0.1:{0}/")]
    [TestCase("http://localhost:{0}/")]
    [TestCase("http://[::ffff:127.0.0.1]:{0}/")]
    [TestCase("http://2130706433:{0}/")]
    public async Task FetchPage_LoopbackNotAllowed_RefusedWithoutEverConnecting(string template)
    {
        await using var canary = new PageServer().Html("/", "secret");
        using var fetcher = Fetcher(canary, allowLoopback: false);

        var refused = await Assert.ThrowsAsync<FetchException>(() =>
            fetcher.FetchPageAsync(new Uri(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, canary.Port)), CancellationToken.None));

        Assert.That(refused!.Reason, Is.EqualTo("blocked_address"));
        Assert.That(refused.IsTransient, Is.False);
        Assert.That(canary.Connections, Is.Zero, "the canary must never see a connection");
    }

    [Test]
    public async Task FetchPage_BlockedAddress_SameAnswerWhetherOrNotAPortIsOpen()
    {
        await using var canary = new PageServer().Html("/", "open");
        var closedPort = Ports.Free();
        using var fetcher = Fetcher(canary, o => o.AllowedPorts.Add(closedPort), allowLoopback: false);

        var open = await Assert.ThrowsAsync<FetchException>(() => fetcher.FetchPageAsync(canary.Url("/"), CancellationToken.None));
        var closed = await Assert.ThrowsAsync<FetchException>(() => fetcher.FetchPageAsync(new Uri($"http://127.0.0.1:{closedPort}/"), CancellationToken.None));

        Assert.That((open!.Reason, open.Message), Is.EqualTo((closed!.Reason, closed.Message)));
    }

    [TestCase("http://169.254.169.254/latest/meta-data/")]
    [TestCase("http://10.0.0.1/")]
    [TestCase("http://[::ffff:10.0.0.1]/")]
    [TestCase("http://[fd00::1]/")]
    [TestCase("http://0x7f.1:{0}/")]
    public async Task FetchPage_RedirectToABlockedAddress_RefusedAtTheHop(string target)
    {
        await using var server = new PageServer();
        server.Redirect("/go", string.Format(System.Globalization.CultureInfo.InvariantCulture, target, server.Port));
        using var fetcher = Fetcher(server, o => o.AllowLoopback = target.Contains("0x7f", StringComparison.Ordinal) ? false : true);

        var refused = await Assert.ThrowsAsync<FetchException>(() =>
            fetcher.FetchPageAsync(target.Contains("0x7f", StringComparison.Ordinal) ? new Uri($"http://127.0.0.1:{server.Port}/go") : server.Url("/go"), CancellationToken.None));

        Assert.That(refused!.Reason, Is.EqualTo("blocked_address"));
    }

    [Test]
    public async Task FetchPage_RedirectChain_FollowedAndEachHopRechecked()
    {
        await using var server = new PageServer().Redirect("/a", "/b", 301).Redirect("/b", "/c", 307).Html("/c", "<title>end</title>");
        using var fetcher = Fetcher(server);

        var page = await fetcher.FetchPageAsync(server.Url("/a"), CancellationToken.None);

        Assert.That(page.FinalUrl, Is.EqualTo(server.Url("/c")));
        Assert.That(page.Redirects, Is.EqualTo(2));
    }

    [Test]
    public async Task FetchPage_MoreThanFiveRedirects_Refused()
    {
        await using var server = new PageServer();
        for (var i = 0; i < 10; i++)
        {
            server.Redirect($"/r{i}", $"/r{i + 1}");
        }

        using var fetcher = Fetcher(server);

        var refused = await Assert.ThrowsAsync<FetchException>(() => fetcher.FetchPageAsync(server.Url("/r0"), CancellationToken.None));

        Assert.That(refused!.Reason, Is.EqualTo("too_many_redirects"));
        Assert.That(server.Connections, Is.EqualTo(6), "the first request and five redirects");
    }

    [Test]
    public async Task FetchPage_GzipBomb_StopsAtTheCapWithBoundedMemory()
    {
        var bomb = GzipBomb.Value;
        await using var server = new PageServer().Route("/bomb", (s, ct) =>
            PageServer.WriteAsync(s, 200, [("Content-Type", "text/html"), ("Content-Encoding", "gzip")], bomb, ct));
        using var fetcher = Fetcher(server, o => o.MaxBodyBytes = 1 << 20);
        var before = GC.GetTotalAllocatedBytes(precise: true);

        var page = await fetcher.FetchPageAsync(server.Url("/bomb"), CancellationToken.None);

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.That(page.Truncated, Is.True);
        Assert.That(page.Body.Length, Is.EqualTo(1 << 20), "the cap counts decompressed bytes");
        Assert.That(allocated, Is.LessThan(64L << 20), "256 MB of zeros must not be inflated into memory");
    }

    [Test]
    public async Task FetchPage_FiftyMegabytePage_StopsAtTheDefaultCap()
    {
        var chunk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("<p>filler text</p>", 4000)));
        await using var server = new PageServer().Route("/big", async (s, ct) =>
        {
            const long total = 50L << 20;
            await s.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {total}\r\n\r\n"), ct);
            for (long sent = 0; sent < total; sent += chunk.Length)
            {
                await s.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, total - sent)), ct);
            }
        });
        using var fetcher = Fetcher(server);

        var page = await fetcher.FetchPageAsync(server.Url("/big"), CancellationToken.None);

        Assert.That(page.Truncated, Is.True);
        Assert.That(page.Body.Length, Is.EqualTo(LinkFetcherOptions.DefaultMaxBodyBytes));
    }

    [Test]
    public async Task FetchPage_BodyThatNeverFinishes_FailsAtTheDeadline()
    {
        await using var server = new PageServer().Route("/drip", async (s, ct) =>
        {
            await s.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<html>"u8.ToArray(), ct);
            while (!ct.IsCancellationRequested)
            {
                await s.WriteAsync("x"u8.ToArray(), ct);
                await Task.Delay(200, ct);
            }
        });
        using var fetcher = Fetcher(server, o => o.Timeout = TimeSpan.FromSeconds(1.5));
        var watch = Stopwatch.StartNew();

        var failed = await Assert.ThrowsAsync<FetchException>(() => fetcher.FetchPageAsync(server.Url("/drip"), CancellationToken.None));

        Assert.That(failed!.Reason, Is.EqualTo("timeout"));
        Assert.That(failed.IsTransient, Is.True);
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(6)));
    }

    [Test]
    public async Task FetchPage_ServerThatNeverAnswers_FailsAtTheDeadline()
    {
        await using var server = new PageServer().Route("/tarpit", (_, ct) => Task.Delay(Timeout.Infinite, ct));
        using var fetcher = Fetcher(server, o => o.Timeout = TimeSpan.FromSeconds(1));

        var failed = await Assert.ThrowsAsync<FetchException>(() => fetcher.FetchPageAsync(server.Url("/tarpit"), CancellationToken.None));

        Assert.That(failed!.Reason, Is.EqualTo("timeout"));
    }

    [TestCase(404, false)]
    [TestCase(410, false)]
    [TestCase(403, false)]
    [TestCase(408, true)]
    [TestCase(500, true)]
    [TestCase(502, true)]
    public async Task FetchPage_ErrorStatus_ClassifiedPermanentOrTransient(int status, bool transient)
    {
        await using var server = new PageServer().Status("/", status);
        using var fetcher = Fetcher(server);

        var failed = await Assert.ThrowsAsync<FetchException>(() => fetcher.FetchPageAsync(server.Url("/"), CancellationToken.None));

        Assert.That(failed!.Reason, Is.EqualTo($"http_status_{status}"));
        Assert.That(failed.IsTransient, Is.EqualTo(transient));
    }

    [Test]
    public async Task FetchPage_503WithRetryAfterSeconds_TransientWithThatDelay()
    {
        await using var server = new PageServer().Status("/", 503, ("Retry-After", "7"));
        using var fetcher = Fetcher(server);

        var failed = await Assert.ThrowsAsync<FetchException>(() => fetcher.FetchPageAsync(server.Url("/"), CancellationToken.None));

        Assert.That(failed!.IsTransient, Is.True);
        Assert.That(failed.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(7)));
    }

    [Test]
    public async Task FetchPage_429WithRetryAfterDate_TransientWithTheWaitUntilThen()
    {
        var at = DateTimeOffset.UtcNow.AddMinutes(2).ToString("R");
        await using var server = new PageServer().Status("/", 429, ("Retry-After", at));
        using var fetcher = Fetcher(server);

        var failed = await Assert.ThrowsAsync<FetchException>(() => fetcher.FetchPageAsync(server.Url("/"), CancellationToken.None));

        Assert.That(failed!.RetryAfter, Is.InRange(TimeSpan.FromSeconds(100), TimeSpan.FromSeconds(121)));
    }

    [Test]
    public async Task FetchPage_NonHtmlContentType_NotDownloaded()
    {
        await using var server = new PageServer().Route("/doc.pdf", (s, ct) =>
            PageServer.WriteAsync(s, 200, [("Content-Type", "application/pdf")], new byte[2 << 20], ct));
        using var fetcher = Fetcher(server);

        var page = await fetcher.FetchPageAsync(server.Url("/doc.pdf"), CancellationToken.None);

        Assert.That(page.ContentType, Is.EqualTo("application/pdf"));
        Assert.That(page.Body.IsEmpty, Is.True);
    }

    [Test]
    public async Task FetchPage_HugeResponseHeaders_Refused()
    {
        var header = new string('a', 200_000);
        await using var server = new PageServer().Route("/", (s, ct) => PageServer.WriteAsync(s, 200, [("X-Big", header)], "<p>x</p>"u8.ToArray(), ct));
        using var fetcher = Fetcher(server);

        var failed = await Assert.ThrowsAsync<FetchException>(() => fetcher.FetchPageAsync(server.Url("/"), CancellationToken.None));

        Assert.That(failed!.Reason, Is.EqualTo("response_too_large"));
    }

    [Test]
    public async Task FetchPage_ManyFetchesToOneHost_AtMostTwoAtOnce()
    {
        await using var server = new PageServer().Route("/slow", async (s, ct) =>
        {
            await Task.Delay(300, ct);
            await PageServer.WriteAsync(s, 200, [("Content-Type", "text/html")], "<p>ok</p>"u8.ToArray(), ct);
        });
        using var fetcher = Fetcher(server);

        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => fetcher.FetchPageAsync(server.Url("/slow"), CancellationToken.None)));

        Assert.That(server.MaxConcurrentRequests, Is.InRange(1, 2));
    }

    [Test]
    public async Task FetchPage_ConnectThatHangs_TimeoutAtTheConnectTimeout()
    {
        using var hung = new HungListener();
        var options = new LinkFetcherOptions { AllowLoopback = true, AllowedPorts = [hung.Port], ConnectTimeout = TimeSpan.FromMilliseconds(500) };
        using var fetcher = new LinkFetcher(Options.Create(options));
        var watch = Stopwatch.StartNew();

        var failed = await Assert.ThrowsAsync<FetchException>(() => fetcher.FetchPageAsync(hung.Url("/"), CancellationToken.None));

        Assert.That(failed!.Reason, Is.EqualTo("timeout"), failed.ToString());
        Assert.That(failed.IsTransient, Is.True);
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "the connect timeout, not the fetch's 20 s");
    }

    [Test]
    public async Task FetchPage_PortThatRefuses_ConnectFailedTransient()
    {
        var closed = Ports.Free();
        using var fetcher = new LinkFetcher(Options.Create(new LinkFetcherOptions { AllowLoopback = true, AllowedPorts = [closed] }));

        var failed = await Assert.ThrowsAsync<FetchException>(() => fetcher.FetchPageAsync(new Uri($"http://127.0.0.1:{closed}/"), CancellationToken.None));

        Assert.That((failed!.Reason, failed.IsTransient), Is.EqualTo(("connect_failed", true)));
    }

    [Test]
    public async Task FetchPage_NameThatDoesNotResolve_DnsFailure()
    {
        using var fetcher = new LinkFetcher(Options.Create(new LinkFetcherOptions()));

        var failed = await Assert.ThrowsAsync<FetchException>(() =>
            fetcher.FetchPageAsync(new Uri($"http://no-such-host-{Guid.NewGuid():N}.invalid/"), CancellationToken.None));

        Assert.That(failed!.Reason, Is.EqualTo("dns_failure"));
    }
}
