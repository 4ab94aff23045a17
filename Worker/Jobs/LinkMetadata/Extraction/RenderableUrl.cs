using System.Net;
using Worker.Jobs.LinkMetadata.Fetching;

namespace Worker.Jobs.LinkMetadata.Extraction;

/// <summary>
/// Whether a URL may be stored in a preview, which every reader's browser then loads: only <c>http</c> and
/// <c>https</c> (<c>https</c> alone for players a front end frames), no user name or password, no IP literal outside
/// the public ranges (<see cref="AddressPolicy"/> decides what is public), and no name that only means something
/// inside a network: <c>localhost</c> and its subdomains, single-label names (<c>intranet</c>, <c>metadata</c>), and
/// the local-use suffixes <c>.local</c>, <c>.localdomain</c>, <c>.internal</c>, <c>.intranet</c>, <c>.lan</c>,
/// <c>.home</c>, <c>.corp</c>, <c>.home.arpa</c>. The worker fetches none of these URLs; the rule protects the readers.
/// </summary>
internal static class RenderableUrl
{
    private static readonly string[] LocalSuffixes =
        [".localhost", ".local", ".localdomain", ".internal", ".intranet", ".lan", ".home", ".corp", ".home.arpa"];

    /// <param name="url">An absolute URL.</param>
    /// <param name="httpsOnly">For players and iframes.</param>
    /// <param name="allowLoopback">Test-only, as the fetcher's <see cref="LinkFetcherOptions.AllowLoopback"/>.</param>
    public static bool IsSafe(string url, bool httpsOnly, bool allowLoopback = false) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && IsSafe(uri, httpsOnly, allowLoopback);

    public static bool IsSafe(Uri uri, bool httpsOnly, bool allowLoopback = false)
    {
        if (!uri.IsAbsoluteUri || !(uri.Scheme == Uri.UriSchemeHttps || (!httpsOnly && uri.Scheme == Uri.UriSchemeHttp))
            || !string.IsNullOrEmpty(uri.UserInfo))
        {
            return false;
        }

        // System.Uri has already turned 2130706433, 0x7f.1 and 017700000001 into dotted quads.
        var host = uri.IdnHost.Trim('[', ']');
        if (IPAddress.TryParse(host, out var address))
        {
            return !AddressPolicy.IsBlocked(address, allowLoopback);
        }

        var name = host.TrimEnd('.').ToLowerInvariant();
        if (name.Length == 0 || !name.Contains('.', StringComparison.Ordinal))
        {
            // localhost, intranet, metadata: a name with no dot is resolved inside the reader's network.
            return false;
        }

        foreach (var suffix in LocalSuffixes)
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}
