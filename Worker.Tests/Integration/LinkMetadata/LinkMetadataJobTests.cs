using System.Collections.Concurrent;
using System.Text.Json;
using StackExchange.Redis;
using Worker.Jobs;
using Worker.Jobs.LinkMetadata;
using Worker.Streams;
using Worker.Tests.Support;

namespace Worker.Tests.Integration.LinkMetadata;

/// <summary>The seeds' metadata worker, end to end: real Redis, real PostgreSQL, a local page server.</summary>
[TestFixture]
public sealed class LinkMetadataJobTests
{
    private string _stream = null!;
    private PageServer _server = null!;

    private static IDatabase Db => Infrastructure.Db;

    [SetUp]
    public void SetUp()
    {
        _stream = WorkerTestHost.NewStream();
        _server = new PageServer();
    }

    [TearDown]
    public async Task TearDown()
    {
        await _server.DisposeAsync();
        await Db.KeyDeleteAsync(WorkerTestHost.KeysOf(_stream));
    }

    private Dictionary<string, string?> Settings(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Worker:Http:Port"] = "0",
            ["Worker:Jobs:link-metadata:Stream"] = _stream,
            ["Worker:Jobs:link-metadata:Retry:BaseDelay"] = "00:00:00.200",
            ["Worker:Jobs:link-metadata:Retry:InlineThreshold"] = "00:00:00.050",
            ["Worker:LinkMetadata:AllowLoopback"] = "true",
            ["Worker:LinkMetadata:AllowedPorts:0"] = _server.Port.ToString(),
            ["Worker:LinkMetadata:CacheTtl"] = "00:00:00",
            ["Worker:LinkMetadata:Timeout"] = "00:00:03",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static async Task<(Guid Section, Guid Post, Guid Link)> RowsAsync(string url)
    {
        var (section, post, link) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await Infrastructure.ExecuteAsync("INSERT INTO sections (id) VALUES ($1)", section);
        await Infrastructure.ExecuteAsync("INSERT INTO posts (id, section_id) VALUES ($1, $2)", post, section);
        await Infrastructure.ExecuteAsync("INSERT INTO links (id, post_id, url) VALUES ($1, $2, $3)", link, post, url);
        return (section, post, link);
    }

    private static Task<string> EnqueueAsync(WorkerTestHost host, Guid post, Guid link, string url) =>
        host.Queue.EnqueueAsync(LinkMetadataHandler.Type, JsonSerializer.Serialize(new { post_id = post, link_id = link, url }));

    private static Task<string?> MetadataAsync(Guid link) =>
        Infrastructure.ScalarAsync<string?>("SELECT metadata::text FROM links WHERE id = $1", link);

    private async Task<StreamEntry> DeadLetterAsync() =>
        (await Eventually.GetAsync(() => Db.StreamRangeAsync(_stream + ":dlq"), d => d.Length > 0, "a dead letter")).Single();

    private static string? Field(StreamEntry entry, string name) => entry.Values.FirstOrDefault(v => v.Name == name).Value;

    [Test]
    public async Task Run_LinkPosted_StoresThePreviewAndPublishesToTheSection()
    {
        _server.Html("/article", """
            <html lang="en"><head><meta property="og:title" content="Local article"><meta property="og:description" content="Described">
            <meta property="og:image" content="/card.png"><meta property="og:site_name" content="Local"></head></html>
            """);
        var url = _server.Url("/article").AbsoluteUri;
        var (section, post, link) = await RowsAsync(url);
        var events = new ConcurrentQueue<string>();
        var channel = RedisChannel.Literal($"section:{section}");
        var subscriber = Infrastructure.Redis.GetSubscriber();
        await subscriber.SubscribeAsync(channel, (_, m) => events.Enqueue(m!));
        try
        {
            await using var host = await WorkerTestHost.StartAsync(Settings());
            await EnqueueAsync(host, post, link, url);

            var stored = await Eventually.GetAsync(() => MetadataAsync(link), m => m is not null, "links.metadata to be set");
            using var metadata = JsonDocument.Parse(stored!);
            Assert.Multiple(async () =>
            {
                Assert.That(metadata.RootElement.GetProperty("title").GetString(), Is.EqualTo("Local article"));
                Assert.That(metadata.RootElement.GetProperty("image").GetProperty("url").GetString(), Is.EqualTo(_server.Url("/card.png").AbsoluteUri));
                Assert.That(metadata.RootElement.GetProperty("sources").GetProperty("title").GetString(), Is.EqualTo("og"));
                Assert.That(await Infrastructure.ScalarAsync<DateTime?>("SELECT updated_at FROM links WHERE id = $1", link), Is.Not.Null);
            });

            var message = await Eventually.GetAsync(() => Task.FromResult(events.FirstOrDefault()), m => m is not null, "link_metadata_updated on the section channel");
            using var published = JsonDocument.Parse(message!);
            var data = published.RootElement.GetProperty("data");
            Assert.Multiple(() =>
            {
                Assert.That(published.RootElement.GetProperty("type").GetString(), Is.EqualTo("link_metadata_updated"));
                Assert.That(data.GetProperty("post_id").GetGuid(), Is.EqualTo(post));
                Assert.That(data.GetProperty("link_id").GetGuid(), Is.EqualTo(link));
                Assert.That(data.GetProperty("metadata").GetProperty("title").GetString(), Is.EqualTo("Local article"));
            });
        }
        finally
        {
            await subscriber.UnsubscribeAsync(channel);
        }
    }

    [Test]
    public async Task Run_PostChannelStrategy_PublishesToThePostChannel()
    {
        _server.Html("/p", "<title>Post channel</title>");
        var url = _server.Url("/p").AbsoluteUri;
        var (_, post, link) = await RowsAsync(url);
        var events = new ConcurrentQueue<string>();
        var channel = RedisChannel.Literal($"post:{post}");
        var subscriber = Infrastructure.Redis.GetSubscriber();
        await subscriber.SubscribeAsync(channel, (_, m) => events.Enqueue(m!));
        try
        {
            await using var host = await WorkerTestHost.StartAsync(Settings(("Worker:LinkMetadata:ChannelStrategy", "Post")));
            await EnqueueAsync(host, post, link, url);

            await Eventually.TrueAsync(() => Task.FromResult(!events.IsEmpty), "an event on post:<id>");
        }
        finally
        {
            await subscriber.UnsubscribeAsync(channel);
        }
    }

    [TestCase(404, "http_status_404")]
    [TestCase(410, "http_status_410")]
    public async Task Run_PageGone_DeadLetteredAtOnceWithTheReason(int status, string reason)
    {
        _server.Status("/gone", status);
        var url = _server.Url("/gone").AbsoluteUri;
        var (_, post, link) = await RowsAsync(url);
        await using var host = await WorkerTestHost.StartAsync(Settings());

        await EnqueueAsync(host, post, link, url);

        var letter = await DeadLetterAsync();
        Assert.That(Field(letter, "error_type"), Is.EqualTo(reason));
        Assert.That(await MetadataAsync(link), Is.Null);
        Assert.That(_server.Connections, Is.EqualTo(1), "a permanent failure is not retried");
    }

    [Test]
    public async Task Run_ServerError_RetriedThenDeadLettered()
    {
        _server.Status("/broken", 500);
        var url = _server.Url("/broken").AbsoluteUri;
        var (_, post, link) = await RowsAsync(url);
        await using var host = await WorkerTestHost.StartAsync(Settings());

        await EnqueueAsync(host, post, link, url);

        var letter = await DeadLetterAsync();
        Assert.That(Field(letter, "error_type"), Is.EqualTo("attempts_exhausted"));
        Assert.That(Field(letter, "error_message"), Does.Contain("http_status_500"));
        Assert.That(_server.Connections, Is.EqualTo(3), "three attempts");
    }

    [Test]
    public async Task Run_MissingLinkOrPost_PermanentWithoutFetching()
    {
        _server.Html("/x", "<title>x</title>");
        var url = _server.Url("/x").AbsoluteUri;
        var (_, post, _) = await RowsAsync(url);
        await using var host = await WorkerTestHost.StartAsync(Settings());

        await EnqueueAsync(host, post, Guid.NewGuid(), url);
        await EnqueueAsync(host, Guid.NewGuid(), Guid.NewGuid(), url);

        var letters = await Eventually.GetAsync(() => Db.StreamRangeAsync(_stream + ":dlq"), d => d.Length == 2, "two dead letters");
        Assert.That(letters.Select(l => Field(l, "error_type")), Is.EquivalentTo(new[] { "link_not_found", "link_not_found" }));
        Assert.That(_server.Connections, Is.Zero);
    }

    [Test]
    public async Task Run_LinkToABlockedAddress_DeadLetteredAsBlockedAndNothingIsDialled()
    {
        await using var canary = new PageServer().Html("/", "internal");
        var url = $"http://localhost:{canary.Port}/";
        var (_, post, link) = await RowsAsync(url);
        await using var host = await WorkerTestHost.StartAsync(Settings(
            ("Worker:LinkMetadata:AllowLoopback", "false"), ("Worker:LinkMetadata:AllowedPorts:0", canary.Port.ToString())));

        await EnqueueAsync(host, post, link, url);

        var letter = await DeadLetterAsync();
        Assert.That(Field(letter, "error_type"), Is.EqualTo("blocked_address"));
        Assert.That(canary.Connections, Is.Zero);
    }

    [Test]
    public async Task Run_HostilePages_EachFailsAndTheLoopKeepsServing()
    {
        _server.Route("/tarpit", (_, ct) => Task.Delay(Timeout.Infinite, ct))
            .Route("/nested", (s, ct) => PageServer.WriteAsync(s, 200, [("Content-Type", "text/html")],
                System.Text.Encoding.ASCII.GetBytes("<title>Nested</title>" + string.Concat(Enumerable.Repeat("<div>", 100_000))), ct))
            .Route("/bomb", (s, ct) => PageServer.WriteAsync(s, 200, [("Content-Type", "text/html"), ("Content-Encoding", "gzip")], Bomb(), ct))
            .Html("/fine", "<title>Still alive</title>");
        var bomb = await RowsAsync(_server.Url("/bomb").AbsoluteUri);
        var tarpit = await RowsAsync(_server.Url("/tarpit").AbsoluteUri);
        var nested = await RowsAsync(_server.Url("/nested").AbsoluteUri);
        var fine = await RowsAsync(_server.Url("/fine").AbsoluteUri);
        await using var host = await WorkerTestHost.StartAsync(Settings(("Worker:Jobs:link-metadata:Retry:MaxAttempts", "1"), ("Worker:LinkMetadata:Timeout", "00:00:01")));

        await EnqueueAsync(host, tarpit.Post, tarpit.Link, _server.Url("/tarpit").AbsoluteUri);
        await EnqueueAsync(host, nested.Post, nested.Link, _server.Url("/nested").AbsoluteUri);
        await EnqueueAsync(host, bomb.Post, bomb.Link, _server.Url("/bomb").AbsoluteUri);
        await EnqueueAsync(host, fine.Post, fine.Link, _server.Url("/fine").AbsoluteUri);

        var letter = await DeadLetterAsync();
        Assert.That(Field(letter, "error_message"), Does.Contain("timeout"));
        var nestedMetadata = await Eventually.GetAsync(() => MetadataAsync(nested.Link), m => m is not null, "the nested page's preview");
        Assert.That(nestedMetadata, Does.Contain("Nested"));
        Assert.That(await Eventually.GetAsync(() => MetadataAsync(bomb.Link), m => m is not null, "the gzip bomb's (empty) preview"), Does.Contain("\"content_kind\": \"html\""));
        Assert.That(await Eventually.GetAsync(() => MetadataAsync(fine.Link), m => m is not null, "the next job"), Does.Contain("Still alive"));
    }

    /// <summary>64 MB of zeros, gzip-compressed to about 64 KB: more than the 5 MB cap once inflated.</summary>
    private static byte[] Bomb()
    {
        using var output = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            var zeros = new byte[1 << 20];
            for (var i = 0; i < 64; i++)
            {
                gzip.Write(zeros);
            }
        }

        return output.ToArray();
    }

    [Test]
    public async Task Run_SameUrlPostedTwice_SecondUsesTheCachedPreview()
    {
        _server.Html("/popular", "<title>Popular</title>");
        var url = _server.Url("/popular").AbsoluteUri;
        var first = await RowsAsync(url);
        var second = await RowsAsync(url);
        await using var host = await WorkerTestHost.StartAsync(Settings(("Worker:LinkMetadata:CacheTtl", "00:01:00")));
        await Db.KeyDeleteAsync("link-metadata:preview:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(url))));

        await EnqueueAsync(host, first.Post, first.Link, url);
        await Eventually.GetAsync(() => MetadataAsync(first.Link), m => m is not null, "the first preview");
        await EnqueueAsync(host, second.Post, second.Link, url);
        await Eventually.GetAsync(() => MetadataAsync(second.Link), m => m is not null, "the second preview");

        Assert.That(_server.Connections, Is.EqualTo(1));
    }

    [Test]
    public async Task Run_NoConcurrencyConfigured_ThreeFetchesAtOnce()
    {
        _server.Route("/slow", async (s, ct) =>
        {
            await Task.Delay(400, ct);
            await PageServer.WriteAsync(s, 200, [("Content-Type", "text/html")], "<title>slow</title>"u8.ToArray(), ct);
        });
        var rows = new List<(Guid Section, Guid Post, Guid Link)>();
        for (var i = 0; i < 9; i++)
        {
            // Distinct hosts' worth of paths on one host: the per-host limit is raised so only the pool's width shows.
            rows.Add(await RowsAsync(_server.Url("/slow").AbsoluteUri));
        }

        await using var host = await WorkerTestHost.StartAsync(Settings(("Worker:LinkMetadata:MaxConcurrentFetchesPerHost", "10")));
        foreach (var row in rows)
        {
            await EnqueueAsync(host, row.Post, row.Link, _server.Url("/slow").AbsoluteUri);
        }

        await Eventually.TrueAsync(async () =>
        {
            foreach (var row in rows)
            {
                if (await MetadataAsync(row.Link) is null)
                {
                    return false;
                }
            }

            return true;
        }, "all nine previews");
        Assert.That(_server.MaxConcurrentRequests, Is.EqualTo(JobTypeOptions.DefaultConcurrency));
    }

    private static Task<string?> JobStatusAsync(string jobId) =>
        Infrastructure.ScalarAsync<string?>("SELECT status FROM jobs WHERE type = 'link-metadata' AND id = $1", jobId);

    /// <summary>
    /// Issue 19's acceptance: one worker with the defaults (loopback allowed for the test pages, their ports allowed),
    /// four dead links (two names that do not resolve, a refused port, a connect that hangs) and then a good one. The
    /// good one is filled within 15 s; the four are dead-lettered within their attempts, the hung connect as a timeout.
    /// </summary>
    [Test]
    public async Task Run_DeadLinksThenAGoodOne_GoodOneFilledAndTheDeadOnesDeadLettered()
    {
        using var hung = new HungListener();
        var refused = Ports.Free();
        _server.Html("/good", "<title>Good link</title>");
        var links = new[]
        {
            $"http://no-such-host-{Guid.NewGuid():N}.invalid/",
            $"http://another-missing-{Guid.NewGuid():N}.invalid/page",
            $"http://127.0.0.1:{refused}/",
            hung.Url("/").AbsoluteUri,
        };
        var settings = new Dictionary<string, string?>
        {
            ["Worker:Http:Port"] = "0",
            ["Worker:Jobs:link-metadata:Stream"] = _stream,
            ["Worker:LinkMetadata:AllowLoopback"] = "true",
            ["Worker:LinkMetadata:CacheTtl"] = "00:00:00",
            ["Worker:LinkMetadata:AllowedPorts:0"] = "80",
            ["Worker:LinkMetadata:AllowedPorts:1"] = _server.Port.ToString(),
            ["Worker:LinkMetadata:AllowedPorts:2"] = refused.ToString(),
            ["Worker:LinkMetadata:AllowedPorts:3"] = hung.Port.ToString(),
        };
        await using var host = await WorkerTestHost.StartAsync(settings);
        var dead = new List<string>();
        foreach (var url in links)
        {
            var (_, post, link) = await RowsAsync(url);
            dead.Add(await EnqueueAsync(host, post, link, url));
        }

        var good = await RowsAsync(_server.Url("/good").AbsoluteUri);
        await EnqueueAsync(host, good.Post, good.Link, _server.Url("/good").AbsoluteUri);

        Assert.That(await Eventually.GetAsync(() => MetadataAsync(good.Link), m => m is not null, "the good link's preview", TimeSpan.FromSeconds(15)),
            Does.Contain("Good link"));
        // The hung connect: three attempts of the 10 s connect timeout and two backoffs.
        var letters = await Eventually.GetAsync(() => Db.StreamRangeAsync(_stream + ":dlq"), d => d.Length == 4, "four dead letters", TimeSpan.FromSeconds(60));
        var byJob = letters.ToDictionary(l => Field(l, "job_id") ?? Field(l, "original_id")!, l => $"{Field(l, "error_type")}: {Field(l, "error_message")}");
        Assert.Multiple(async () =>
        {
            Assert.That(byJob[dead[0]], Does.Contain("dns_failure"));
            Assert.That(byJob[dead[1]], Does.Contain("dns_failure"));
            Assert.That(byJob[dead[2]], Does.Contain("connect_failed"));
            Assert.That(byJob[dead[3]], Does.Contain("timeout"));
            foreach (var job in dead)
            {
                Assert.That(await JobStatusAsync(job), Is.EqualTo("dead_lettered"), job);
            }
        });
    }

    [Test]
    public async Task Run_PagePointingAtInternalAddresses_StoresNoneOfThem()
    {
        _server.Html("/internal", """
            <html><head><title>Internal media</title>
            <meta property="og:video" content="http://169.254.169.254/latest/"><meta property="og:video:type" content="text/html">
            <meta name="twitter:player" content="https://192.168.1.1/v.mp4">
            <meta property="og:image" content="http://10.1.2.3/i.png"><meta name="twitter:image" content="http://localhost/i.png">
            <link rel="icon" href="http://metadata.google.internal/favicon.ico">
            </head><body><video src="https://[fd00::1]/v.mp4"></video></body></html>
            """);
        var url = _server.Url("/internal").AbsoluteUri;
        var (_, post, link) = await RowsAsync(url);
        await using var host = await WorkerTestHost.StartAsync(Settings());

        await EnqueueAsync(host, post, link, url);

        var stored = await Eventually.GetAsync(() => MetadataAsync(link), m => m is not null, "the preview");
        Assert.That(stored, Does.Contain("Internal media"));
        Assert.That(stored, Does.Not.Contain("169.254").And.Not.Contain("192.168").And.Not.Contain("10.1.2.3")
            .And.Not.Contain("localhost").And.Not.Contain(".internal").And.Not.Contain("fd00"));
        using var metadata = JsonDocument.Parse(stored!);
        Assert.That(metadata.RootElement.TryGetProperty("embed", out _), Is.False);
    }

    [Test]
    public async Task Run_OEmbedEndpointThatNeverAnswers_ThePagesOwnPreviewIsStored()
    {
        _server.Html("/video", $"""
            <html><head><title>Page with a slow player</title><meta property="og:description" content="Own description">
            <link rel="alternate" type="application/json+oembed" href="{_server.Url("/oembed")}"></head></html>
            """)
            .Route("/oembed", (_, ct) => Task.Delay(Timeout.Infinite, ct));
        var url = _server.Url("/video").AbsoluteUri;
        var (_, post, link) = await RowsAsync(url);
        await using var host = await WorkerTestHost.StartAsync(Settings(
            ("Worker:LinkMetadata:JobDeadline", "00:00:02"), ("Worker:LinkMetadata:OEmbedReserve", "00:00:00.500"),
            ("Worker:LinkMetadata:Timeout", "00:00:10")));

        await EnqueueAsync(host, post, link, url);

        var stored = await Eventually.GetAsync(() => MetadataAsync(link), m => m is not null, "the page's own preview");
        Assert.That(stored, Does.Contain("Page with a slow player").And.Contain("Own description"));
        Assert.That(await Db.StreamLengthAsync(_stream + ":dlq"), Is.Zero);
    }
}
