using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Worker.Jobs.LinkMetadata;

/// <summary>
/// Previews by URL in Redis for <see cref="LinkMetadataOptions.CacheTtl"/> (the seeds cache results with a TTL), so
/// the same URL posted again is not fetched again. A cache outage only costs a fetch.
/// </summary>
internal sealed partial class PreviewCache(IConnectionMultiplexer redis, IOptions<LinkMetadataOptions> options, ILogger<PreviewCache> logger)
{
    private const string Prefix = "link-metadata:preview:";

    public async Task<string?> GetAsync(Uri url)
    {
        if (options.Value.CacheTtl <= TimeSpan.Zero)
        {
            return null;
        }

        try
        {
            return await redis.GetDatabase().StringGetAsync(Key(url));
        }
        catch (RedisException e)
        {
            LogCacheFailed(logger, e.Message);
            return null;
        }
    }

    public async Task SetAsync(Uri url, string json)
    {
        if (options.Value.CacheTtl <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            await redis.GetDatabase().StringSetAsync(Key(url), json, options.Value.CacheTtl);
        }
        catch (RedisException e)
        {
            LogCacheFailed(logger, e.Message);
        }
    }

    private static string Key(Uri url) => Prefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(url.AbsoluteUri)));

    [LoggerMessage(EventId = 4102, EventName = "PreviewCacheFailed", Level = LogLevel.Warning,
        Message = "The preview cache is unavailable ({Error}); fetching instead")]
    private static partial void LogCacheFailed(ILogger logger, string error);
}
