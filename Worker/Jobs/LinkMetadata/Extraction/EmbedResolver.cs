using System.Net;
using System.Text.RegularExpressions;

namespace Worker.Jobs.LinkMetadata.Extraction;

/// <summary>
/// Players known without a network call: YouTube, Vimeo and Spotify from the URL; Bandcamp, SoundCloud and others
/// from <c>og:video</c> or <c>twitter:player</c> when they are HTML players.
/// </summary>
internal static partial class EmbedResolver
{
    public static EmbedInfo? FromUrl(Uri url)
    {
        var host = url.Host.ToLowerInvariant();
        if (host is "youtu.be" or "www.youtu.be" || host.EndsWith("youtube.com", StringComparison.Ordinal) || host.EndsWith("youtube-nocookie.com", StringComparison.Ordinal))
        {
            var id = host.EndsWith("youtu.be", StringComparison.Ordinal)
                ? url.AbsolutePath.Trim('/').Split('/')[0]
                : QueryValue(url, "v") ?? PathAfter(url, "shorts") ?? PathAfter(url, "embed") ?? PathAfter(url, "live");
            return id is not null && YouTubeId().IsMatch(id)
                ? Player("YouTube", "video", $"https://www.youtube.com/embed/{id}", 560, 315)
                : null;
        }

        if (host is "vimeo.com" or "www.vimeo.com" or "player.vimeo.com")
        {
            var id = url.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(s => s.All(char.IsAsciiDigit));
            return id is not null ? Player("Vimeo", "video", $"https://player.vimeo.com/video/{id}", 640, 360) : null;
        }

        if (host == "open.spotify.com")
        {
            var match = SpotifyPath().Match(url.AbsolutePath);
            return match.Success
                ? Player("Spotify", "rich", $"https://open.spotify.com/embed/{match.Groups["kind"].Value}/{match.Groups["id"].Value}", 300, 380)
                : null;
        }

        return null;
    }

    /// <summary>A player page named by the page itself (Bandcamp has no oEmbed: its player is its <c>og:video</c>).</summary>
    public static EmbedInfo? FromPlayer(string? playerUrl, string? type, string siteHost, int? width, int? height)
    {
        if (playerUrl is null || (type is not null && !type.Contains("html", StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        var provider = siteHost.Contains("bandcamp", StringComparison.OrdinalIgnoreCase) ? "Bandcamp"
            : siteHost.Contains("soundcloud", StringComparison.OrdinalIgnoreCase) ? "SoundCloud"
            : Uri.TryCreate(playerUrl, UriKind.Absolute, out var u) ? u.Host : siteHost;
        return Player(provider, provider is "Bandcamp" or "SoundCloud" ? "rich" : "video", playerUrl, width, height);
    }

    private static EmbedInfo Player(string provider, string type, string url, int? width, int? height)
    {
        var w = width ?? 560;
        var h = height ?? 315;
        var html = $"<iframe src=\"{WebUtility.HtmlEncode(url)}\" width=\"{w}\" height=\"{h}\" frameborder=\"0\" allowfullscreen " +
                   "allow=\"autoplay; encrypted-media; picture-in-picture\" loading=\"lazy\"></iframe>";
        return new EmbedInfo(provider, type, url, html, w, h);
    }

    private static string? QueryValue(Uri url, string key)
    {
        foreach (var pair in url.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            if (eq > 0 && pair[..eq] == key)
            {
                return Uri.UnescapeDataString(pair[(eq + 1)..]);
            }
        }

        return null;
    }

    private static string? PathAfter(Uri url, string segment)
    {
        var parts = url.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var at = Array.IndexOf(parts, segment);
        return at >= 0 && at + 1 < parts.Length ? parts[at + 1] : null;
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{11}$")]
    private static partial Regex YouTubeId();

    [GeneratedRegex("^/(?:intl-[a-z]{2}/)?(?<kind>track|album|playlist|episode|show|artist)/(?<id>[A-Za-z0-9]+)")]
    private static partial Regex SpotifyPath();
}
