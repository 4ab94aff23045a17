using System.Text;
using System.Text.RegularExpressions;

namespace Worker.Jobs.LinkMetadata.Extraction;

/// <summary>
/// The encoding of an HTML body: the HTTP header's charset, then a byte-order mark, then <c>&lt;meta charset&gt;</c> or
/// <c>http-equiv</c> in the first 1024 bytes, then UTF-8. Legacy code pages (Shift_JIS, EUC-JP, GBK, windows-1251,
/// ISO-8859-x) come from the code-pages provider.
/// </summary>
internal static partial class CharsetDetector
{
    private const int MetaScanBytes = 1024;

    static CharsetDetector() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    /// <summary>Returns the encoding and how many leading bytes (a BOM) to skip.</summary>
    public static (Encoding Encoding, int Skip) Detect(ReadOnlySpan<byte> body, string? contentType)
    {
        if (FromName(ContentTypeCharset(contentType)) is { } fromHeader)
        {
            return (fromHeader, BomLength(body, fromHeader));
        }

        if (body.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            return (Encoding.UTF8, 3);
        }

        if (body.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]))
        {
            return (Encoding.Unicode, 2);
        }

        if (body.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]))
        {
            return (Encoding.BigEndianUnicode, 2);
        }

        // The first 1024 bytes as Latin-1: every byte maps to one char, and the meta tag is ASCII in every charset we read.
        var head = Encoding.Latin1.GetString(body[..Math.Min(body.Length, MetaScanBytes)]);
        var match = MetaCharset().Match(head);
        if (match.Success && FromName(match.Groups["name"].Value) is { } fromMeta)
        {
            // A page that claims UTF-16 in an ASCII meta tag is not UTF-16; one whose bytes are valid UTF-8 with
            // multi-byte characters in them was re-saved as UTF-8 without its meta tag being updated (common in the
            // wild): legacy text is almost never valid UTF-8 by accident.
            if (fromMeta is UnicodeEncoding || (fromMeta.CodePage != Encoding.UTF8.CodePage && IsMultiByteUtf8(body)))
            {
                return (new UTF8Encoding(false), 0);
            }

            return (fromMeta, 0);
        }

        return (Encoding.UTF8, 0);
    }

    public static string Decode(ReadOnlySpan<byte> body, string? contentType)
    {
        var (encoding, skip) = Detect(body, contentType);
        return encoding.GetString(body[skip..]);
    }

    private static bool IsMultiByteUtf8(ReadOnlySpan<byte> body)
    {
        var hasMultiByte = false;
        foreach (var b in body)
        {
            if (b >= 0x80)
            {
                hasMultiByte = true;
                break;
            }
        }

        return hasMultiByte && System.Text.Unicode.Utf8.IsValid(body);
    }

    private static string? ContentTypeCharset(string? contentType)
    {
        if (contentType is null)
        {
            return null;
        }

        var match = HeaderCharset().Match(contentType);
        return match.Success ? match.Groups["name"].Value : null;
    }

    private static Encoding? FromName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return null;
        }

        name = name.Trim().Trim('"', '\'').ToLowerInvariant();
        // What browsers do: these labels mean a superset that decodes more pages correctly.
        name = name switch
        {
            "iso-8859-1" or "latin1" or "us-ascii" or "ascii" => "windows-1252",
            "gb2312" or "gb_2312-80" or "x-gbk" => "gbk",
            "shift-jis" or "sjis" or "x-sjis" => "shift_jis",
            "utf8" => "utf-8",
            _ => name,
        };
        try
        {
            var encoding = Encoding.GetEncoding(name);
            return encoding.CodePage == Encoding.UTF8.CodePage ? new UTF8Encoding(false) : encoding;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static int BomLength(ReadOnlySpan<byte> body, Encoding encoding)
    {
        var preamble = encoding.GetPreamble();
        if (encoding.CodePage == Encoding.UTF8.CodePage)
        {
            preamble = [0xEF, 0xBB, 0xBF];
        }

        return preamble.Length > 0 && body.StartsWith(preamble) ? preamble.Length : 0;
    }

    [GeneratedRegex("""charset\s*=\s*["']?(?<name>[A-Za-z0-9_\-:.]+)""", RegexOptions.IgnoreCase)]
    private static partial Regex HeaderCharset();

    [GeneratedRegex("""<meta[^>]+charset\s*=\s*["']?\s*(?<name>[A-Za-z0-9_\-:.]+)""", RegexOptions.IgnoreCase)]
    private static partial Regex MetaCharset();
}
