using System.Net;

namespace Worker.Jobs.LinkMetadata.Fetching;

/// <summary>What a URL must look like before anything is resolved or dialled: http(s), no userinfo, an allowed port.</summary>
internal static class UrlPolicy
{
    public static Uri Validate(string text, LinkFetcherOptions options) =>
        Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri)
            ? Validate(uri, options)
            : throw new FetchException("invalid_url", transient: false, "the link is not an absolute URL");

    public static Uri Validate(Uri uri, LinkFetcherOptions options)
    {
        if (!uri.IsAbsoluteUri || uri.Scheme is not ("http" or "https"))
        {
            throw new FetchException("scheme_not_allowed", transient: false, "only http and https links are fetched");
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new FetchException("invalid_url", transient: false, "links with a user name or password are not fetched");
        }

        if (string.IsNullOrEmpty(uri.IdnHost))
        {
            throw new FetchException("invalid_url", transient: false, "the link has no host");
        }

        if (!options.EffectivePorts.Contains(uri.Port))
        {
            throw new FetchException("port_not_allowed", transient: false, $"port {uri.Port} is not allowed");
        }

        // System.Uri has already turned 2130706433, 0x7f.1 and 017700000001 into dotted quads: literal addresses are
        // judged here, before any connection; names are judged on every address they resolve to, at connect time.
        if (IPAddress.TryParse(uri.IdnHost.Trim('[', ']'), out var literal) && AddressPolicy.IsBlocked(literal, options.AllowLoopback))
        {
            throw FetchException.Blocked();
        }

        return uri;
    }
}
