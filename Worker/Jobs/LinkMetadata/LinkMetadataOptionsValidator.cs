using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Worker.Configuration;
using Worker.Jobs.LinkMetadata.Fetching;

namespace Worker.Jobs.LinkMetadata;

/// <summary>Checks <c>Worker:LinkMetadata</c> at start, the job's and the fetcher's settings alike, naming each broken key.</summary>
internal sealed class LinkMetadataOptionsValidator(IConfiguration configuration, IOptions<LinkFetcherOptions> fetcher) : IValidateOptions<LinkMetadataOptions>
{
    public ValidateOptionsResult Validate(string? name, LinkMetadataOptions options)
    {
        const string key = LinkMetadataOptions.SectionName;
        var failures = RawConfigurationCheck.Failures(configuration.GetSection(key), typeof(LinkMetadataOptions), typeof(LinkFetcherOptions));
        if (failures.Count > 0)
        {
            // Values that cannot be read leave the rest meaningless.
            return ValidateOptionsResult.Fail(failures);
        }

        var f = fetcher.Value;
        void Require(bool ok, string failure)
        {
            if (!ok)
            {
                failures.Add($"{key}:{failure}");
            }
        }

        Require(options.JobDeadline > TimeSpan.Zero, "JobDeadline must be positive");
        Require(options.OEmbedReserve >= TimeSpan.Zero && options.OEmbedReserve < options.JobDeadline,
            "OEmbedReserve must be zero or positive and shorter than JobDeadline");
        Require(options.CacheTtl >= TimeSpan.Zero, "CacheTtl must be zero (off) or positive");
        Require(!string.IsNullOrWhiteSpace(options.GlobalChannel), "GlobalChannel must not be empty");
        Require(Enum.IsDefined(options.ChannelStrategy), "ChannelStrategy must be Section, Post or Global");
        Require(f.MaxRedirects is >= 0 and <= 20, $"MaxRedirects must be between 0 and 20 (was {f.MaxRedirects})");
        Require(f.MaxBodyBytes is >= 1024 and <= 100 * 1024 * 1024, $"MaxBodyBytes must be between 1024 and 104857600 (was {f.MaxBodyBytes})");
        Require(f.MaxOEmbedBytes is >= 1024 and <= 10 * 1024 * 1024, $"MaxOEmbedBytes must be between 1024 and 10485760 (was {f.MaxOEmbedBytes})");
        Require(f.MaxResponseHeadersKb is >= 1 and <= 1024, $"MaxResponseHeadersKb must be between 1 and 1024 (was {f.MaxResponseHeadersKb})");
        Require(f.Timeout > TimeSpan.Zero, "Timeout must be positive");
        Require(f.ConnectTimeout > TimeSpan.Zero, "ConnectTimeout must be positive");
        Require(f.MaxConcurrentFetchesPerHost >= 1, $"MaxConcurrentFetchesPerHost must be at least 1 (was {f.MaxConcurrentFetchesPerHost})");
        Require(f.AllowedPorts.All(p => p is > 0 and <= 65535), "AllowedPorts must list ports between 1 and 65535");
        Require(!string.IsNullOrWhiteSpace(f.UserAgent), "UserAgent must not be empty");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
