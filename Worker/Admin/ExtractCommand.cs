using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Worker.Hosting;
using Worker.Jobs.LinkMetadata;
using Worker.Jobs.LinkMetadata.Extraction;
using Worker.Jobs.LinkMetadata.Fetching;

namespace Worker.Admin;

/// <summary>
/// <c>extract --url URL [--html FILE]</c>: the preview JSON of a page (with <c>--html</c> nothing is fetched);
/// <c>extract --batch FILE</c>: one JSON line per <c>url&lt;TAB&gt;path</c> line, for benchmarks and corpus checks.
/// Needs neither Redis nor PostgreSQL.
/// </summary>
internal static class ExtractCommand
{
    public const string Usage = "extract --url URL [--html FILE] | extract --batch FILE [--rounds N]";

    /// <param name="rounds">With <paramref name="batch"/>: 0 prints each page's preview; more times that many rounds over the batch.</param>
    public static async Task<int> ExecuteAsync(string? url, string? html, string? batch, int rounds)
    {
        if (batch is not null)
        {
            return rounds == 0 ? await BatchAsync(batch) : await TimedRoundsAsync(batch, rounds);
        }

        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            Console.Error.WriteLine($"usage: {Usage}");
            return ExitCodes.Usage;
        }

        LinkPreview preview;
        if (html is not null)
        {
            preview = MetadataExtractor.Extract(await File.ReadAllBytesAsync(html), "text/html", uri);
        }
        else
        {
            var section = Configuration().GetSection(LinkMetadataOptions.SectionName);
            var fetcherOptions = section.Get<LinkFetcherOptions>() ?? new LinkFetcherOptions();
            var options = section.Get<LinkMetadataOptions>() ?? new LinkMetadataOptions();
            using var fetcher = new LinkFetcher(Options.Create(fetcherOptions));
            using var service = new LinkPreviewService(
                fetcher, Options.Create(options), Options.Create(fetcherOptions), TimeProvider.System, NullLogger<LinkPreviewService>.Instance);
            try
            {
                using var deadline = new CancellationTokenSource(options.JobDeadline);
                preview = await service.PreviewAsync(UrlPolicy.Validate(uri, fetcherOptions), DateTimeOffset.UtcNow + options.JobDeadline, deadline.Token);
            }
            catch (FetchException e)
            {
                Console.Error.WriteLine($"extract: {e.Reason}: {e.Message}");
                return ExitCodes.Failure;
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"extract: timeout: the link's network work took longer than {options.JobDeadline.TotalSeconds:0.###} s");
                return ExitCodes.Failure;
            }
        }

        Console.WriteLine(JsonSerializer.Serialize(preview, new LinkPreviewJsonContext(new JsonSerializerOptions(LinkPreviewJsonContext.Default.Options) { WriteIndented = true }).LinkPreview));
        return ExitCodes.Ok;
    }

    private static async Task<int> BatchAsync(string path)
    {
        var watch = Stopwatch.StartNew();
        long pages = 0, bytes = 0;
        using var stdout = new StreamWriter(Console.OpenStandardOutput());
        foreach (var line in await File.ReadAllLinesAsync(path))
        {
            var tab = line.IndexOf('\t');
            if (tab <= 0 || !Uri.TryCreate(line[..tab], UriKind.Absolute, out var uri))
            {
                continue;
            }

            var body = await File.ReadAllBytesAsync(line[(tab + 1)..]);
            var preview = MetadataExtractor.Extract(body, "text/html", uri);
            await stdout.WriteLineAsync(JsonSerializer.Serialize(preview, LinkPreviewJsonContext.Default.LinkPreview));
            pages++;
            bytes += body.Length;
        }

        await stdout.FlushAsync();
        var seconds = watch.Elapsed.TotalSeconds;
        Console.Error.WriteLine(FormattableString.Invariant($"extract: {pages} pages, {bytes / 1e6:0.0} MB in {seconds:0.000} s: {pages / seconds:0} pages/s, {bytes / 1e6 / seconds:0.0} MB/s"));
        return ExitCodes.Ok;
    }

    /// <summary>For benchmarks: one untimed warm-up pass, then <paramref name="rounds"/> timed passes; prints one JSON line.</summary>
    private static async Task<int> TimedRoundsAsync(string path, int rounds)
    {
        var pages = new List<(Uri Url, byte[] Body)>();
        foreach (var line in await File.ReadAllLinesAsync(path))
        {
            var tab = line.IndexOf('\t');
            if (tab > 0 && Uri.TryCreate(line[..tab], UriKind.Absolute, out var uri))
            {
                pages.Add((uri, await File.ReadAllBytesAsync(line[(tab + 1)..])));
            }
        }

        foreach (var (url, body) in pages)
        {
            MetadataExtractor.Extract(body, "text/html", url);
        }

        var watch = Stopwatch.StartNew();
        for (var i = 0; i < rounds; i++)
        {
            foreach (var (url, body) in pages)
            {
                MetadataExtractor.Extract(body, "text/html", url);
            }
        }

        var seconds = watch.Elapsed.TotalSeconds;
        var megabytes = pages.Sum(p => (long)p.Body.Length) * rounds / 1e6;
        Console.WriteLine(FormattableString.Invariant(
            $"{{\"scenario\":\"extract\",\"pages\":{pages.Count * rounds},\"pages_per_s\":{pages.Count * rounds / seconds:0.0},\"mb_per_s\":{megabytes / seconds:0.0},\"peak_rss_mb\":{Environment.WorkingSet / 1e6:0}}}"));
        return ExitCodes.Ok;
    }

    private static IConfiguration Configuration() =>
        new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .Build();
}
