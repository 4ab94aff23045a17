namespace Worker.Jobs.LinkMetadata.Fetching;

/// <summary>The fetcher's settings, bound from <c>Worker:LinkMetadata</c>.</summary>
internal sealed class LinkFetcherOptions
{
    /// <summary>Largest body read, counted after decompression: 5 MB.</summary>
    public const int DefaultMaxBodyBytes = 5 * 1024 * 1024;

    /// <summary>Largest oEmbed answer read: 256 KB.</summary>
    public const int DefaultMaxOEmbedBytes = 256 * 1024;

    /// <summary>Test-only: admits 127.0.0.0/8 and ::1, nothing else. Never turn on in production.</summary>
    public bool AllowLoopback { get; set; }

    /// <summary>
    /// Ports a link may use; empty means 80 and 443. (Empty by default because the configuration binder appends to
    /// a list it finds filled: a default of [80, 443] could never be narrowed to [443].)
    /// </summary>
    public List<int> AllowedPorts { get; set; } = [];

    public IReadOnlyList<int> EffectivePorts => AllowedPorts.Count == 0 ? [80, 443] : AllowedPorts;

    public int MaxRedirects { get; set; } = 5;

    public int MaxBodyBytes { get; set; } = DefaultMaxBodyBytes;

    public int MaxOEmbedBytes { get; set; } = DefaultMaxOEmbedBytes;

    /// <summary>Largest response header block: 64 KB.</summary>
    public int MaxResponseHeadersKb { get; set; } = 64;

    /// <summary>Total for one fetch, all hops included: DNS, connect, TLS, headers and body: 20 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>One TCP connect: 10 seconds.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public string UserAgent { get; set; } = "LinkPreviewWorker/1.0 (+https://example.invalid/bot)";

    public int MaxConcurrentFetchesPerHost { get; set; } = 2;
}
