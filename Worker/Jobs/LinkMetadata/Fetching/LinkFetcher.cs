using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Worker.Jobs.LinkMetadata.Fetching;

/// <summary>
/// Fetches user-posted links safely by construction. The address check runs in <c>ConnectCallback</c>, on the
/// addresses a name resolves to and then on the one actually dialled, for every hop and every secondary fetch; a name
/// with any blocked address is refused. Redirects are followed by hand (each hop re-validated), bodies are read up to
/// a cap counted after decompression, one deadline covers DNS, connect, TLS, headers and body, and no proxy is used.
/// </summary>
internal sealed class LinkFetcher : IDisposable
{
    private const int ReadChunk = 16 * 1024;

    private readonly LinkFetcherOptions _options;
    private readonly HttpClient _client;
    private readonly HostLimiter _hosts;

    public LinkFetcher(IOptions<LinkFetcherOptions> options)
    {
        _options = options.Value;
        _hosts = new HostLimiter(Math.Max(1, _options.MaxConcurrentFetchesPerHost));
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.All,
            MaxResponseHeadersLength = _options.MaxResponseHeadersKb,
            ConnectTimeout = _options.ConnectTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            MaxConnectionsPerServer = Math.Max(1, _options.MaxConcurrentFetchesPerHost),
            ConnectCallback = ConnectAsync,
        };
        _client = new HttpClient(handler)
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        _client.DefaultRequestHeaders.UserAgent.ParseAdd(_options.UserAgent);
        _client.DefaultRequestHeaders.Accept.ParseAdd("text/html,application/xhtml+xml;q=0.9,*/*;q=0.5");
        _client.DefaultRequestHeaders.AcceptLanguage.ParseAdd("en;q=0.9,*;q=0.5");
    }

    /// <summary>Fetches a page (HTML read up to <see cref="LinkFetcherOptions.MaxBodyBytes"/>; media and other types not downloaded).</summary>
    public Task<FetchResult> FetchPageAsync(Uri url, CancellationToken ct) => FetchAsync(url, _options.MaxBodyBytes, json: false, ct);

    /// <summary>Fetches an oEmbed JSON document through the same checks, with a smaller cap.</summary>
    public Task<FetchResult> FetchOEmbedAsync(Uri url, CancellationToken ct) => FetchAsync(url, _options.MaxOEmbedBytes, json: true, ct);

    public void Dispose() => _client.Dispose();

    private async Task<FetchResult> FetchAsync(Uri url, int maxBytes, bool json, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.Timeout);
        try
        {
            return await FetchWithinDeadlineAsync(UrlPolicy.Validate(url, _options), maxBytes, json, deadline.Token);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            // Our deadline, or SocketsHttpHandler's ConnectTimeout: that one comes as a TaskCanceledException carrying a
            // TimeoutException, with no token of ours cancelled. Either way the remote side was too slow: a job failure.
            throw deadline.IsCancellationRequested
                ? new FetchException("timeout", transient: true, $"the page did not arrive within {_options.Timeout.TotalSeconds:0.###} s", inner: e)
                : new FetchException("timeout", transient: true, $"the site did not accept a connection within {_options.ConnectTimeout.TotalSeconds:0.###} s", inner: e);
        }
        catch (HttpRequestException e)
        {
            throw Classify(e);
        }
        catch (IOException e)
        {
            // The body broke off (HttpIOException: a reset, a connection closed early, a broken chunk).
            throw new FetchException("connection_reset", transient: true, "the site broke off the response", inner: e);
        }
    }

    private async Task<FetchResult> FetchWithinDeadlineAsync(Uri url, int maxBytes, bool json, CancellationToken ct)
    {
        for (var redirects = 0; ; redirects++)
        {
            using var lease = await _hosts.EnterAsync(url.IdnHost, ct);
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (json)
            {
                request.Headers.Accept.Clear();
                request.Headers.Accept.ParseAdd("application/json");
            }

            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            var status = (int)response.StatusCode;
            if (status is 301 or 302 or 303 or 307 or 308)
            {
                if (redirects >= _options.MaxRedirects)
                {
                    throw new FetchException("too_many_redirects", transient: false, $"more than {_options.MaxRedirects} redirects");
                }

                var location = response.Headers.Location
                    ?? throw new FetchException("invalid_redirect", transient: false, "a redirect without a Location");
                url = UrlPolicy.Validate(location.IsAbsoluteUri ? location : new Uri(url, location), _options);
                continue;
            }

            ThrowForStatus(response);
            var contentType = response.Content.Headers.ContentType?.ToString();
            var links = response.Headers.TryGetValues("Link", out var values) ? values.ToList() : [];
            if (!ShouldDownload(response.Content.Headers.ContentType?.MediaType, json))
            {
                return new FetchResult(url, status, contentType, ReadOnlyMemory<byte>.Empty, false, links, redirects);
            }

            var (body, truncated) = await ReadCappedAsync(response.Content, maxBytes, ct);
            var language = response.Content.Headers.ContentLanguage.FirstOrDefault();
            return new FetchResult(url, status, contentType, body, truncated, links, redirects, language);
        }
    }

    /// <summary>HTML (and JSON for oEmbed) is read; a missing type is read to sniff; media and everything else are not.</summary>
    private static bool ShouldDownload(string? mediaType, bool json) => mediaType switch
    {
        null => true,
        "text/html" or "application/xhtml+xml" => true,
        "application/json" or "application/json+oembed" or "text/javascript" => json,
        _ => false,
    };

    private static async Task<(ReadOnlyMemory<byte>, bool)> ReadCappedAsync(HttpContent content, int maxBytes, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes + 1, ReadChunk * 4));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > maxBytes)
                    {
                        break;
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes + 1, buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, maxBytes + 1) - length), ct);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > maxBytes)
                {
                    // The cap counts decompressed bytes: a gzip bomb stops here, after maxBytes of output.
                    break;
                }
            }

            var truncated = length > maxBytes;
            return (buffer.AsSpan(0, Math.Min(length, maxBytes)).ToArray(), truncated);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void ThrowForStatus(HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 300)
        {
            return;
        }

        var reason = $"http_status_{status}";
        var message = $"the site answered {status}";
        if (status is 408 or 429 or >= 500)
        {
            var retryAfter = status is 429 or 503 ? RetryAfter(response.Headers.RetryAfter) : null;
            throw new FetchException(reason, transient: true, message, retryAfter);
        }

        throw new FetchException(reason, transient: false, message);
    }

    private static TimeSpan? RetryAfter(RetryConditionHeaderValue? header) => header switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow is { Ticks: > 0 } wait ? wait : TimeSpan.Zero,
        _ => null,
    };

    /// <summary>
    /// Every way a link's host can fail, as a job failure with a stable reason: <c>dns_failure</c>,
    /// <c>connect_failed</c> (refused, unreachable), <c>connection_reset</c>, <c>tls_failed</c>,
    /// <c>invalid_response</c>, <c>response_too_large</c>. A name that does not exist (NXDOMAIN) is permanent at once;
    /// everything else is transient and retried with the job's backoff.
    /// </summary>
    internal static FetchException Classify(HttpRequestException e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case FetchException fetch:
                    return fetch;
                case SocketException socket when DnsFailure(socket, e) is { } dns:
                    return dns;
                case SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown }:
                    return new FetchException("connection_reset", transient: true, "the site broke off the connection", inner: e);
                case System.Security.Authentication.AuthenticationException:
                    return TlsFailed(e);
            }
        }

        return e.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => new FetchException("dns_failure", transient: true, "the link's host name does not resolve", inner: e),
            HttpRequestError.SecureConnectionError => TlsFailed(e),
            HttpRequestError.ConfigurationLimitExceeded => new FetchException("response_too_large", transient: false, "the site's response headers are too large", inner: e),
            HttpRequestError.InvalidResponse or HttpRequestError.ResponseEnded => new FetchException("invalid_response", transient: true, "the site sent a broken response", inner: e),
            _ => new FetchException("connect_failed", transient: true, "the site could not be reached", inner: e),
        };
    }

    private static FetchException TlsFailed(Exception e) =>
        new("tls_failed", transient: true, "the site's TLS handshake failed", inner: e);

    /// <summary>
    /// <c>HostNotFound</c> is the resolver's "no such name" (NXDOMAIN): retrying will not make it exist, so it is
    /// permanent. <c>TryAgain</c> (no answer, a server failure) and <c>NoData</c> may pass: transient.
    /// </summary>
    private static FetchException? DnsFailure(SocketException socket, Exception outer) => socket.SocketErrorCode switch
    {
        SocketError.HostNotFound => new FetchException("dns_failure", transient: false, "the link's host name does not exist", inner: outer),
        SocketError.NoData or SocketError.TryAgain => new FetchException("dns_failure", transient: true, "the link's host name does not resolve", inner: outer),
        _ => null,
    };

    /// <summary>Resolves, refuses if any address is blocked, then dials the allowed addresses in turn.</summary>
    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        IPAddress[] addresses;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                // WaitAsync: a resolver that does not honour cancellation still gives the job back at its deadline.
                addresses = await Dns.GetHostAddressesAsync(host, ct).WaitAsync(ct);
            }
            catch (SocketException e)
            {
                throw DnsFailure(e, e) ?? new FetchException("dns_failure", transient: true, "the link's host name does not resolve", inner: e);
            }
        }

        if (addresses.Length == 0)
        {
            throw new FetchException("dns_failure", transient: true, "the link's host name does not resolve");
        }

        if (addresses.Any(a => AddressPolicy.IsBlocked(a, _options.AllowLoopback)))
        {
            throw FetchException.Blocked();
        }

        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                // The address dialled is the address checked: no second resolution happens between the two.
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw new FetchException("connect_failed", transient: true, "the site could not be reached", inner: last);
    }
}
