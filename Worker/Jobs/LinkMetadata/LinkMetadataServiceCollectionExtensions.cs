using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Worker.Jobs.LinkMetadata.Fetching;

namespace Worker.Jobs.LinkMetadata;

internal static class LinkMetadataServiceCollectionExtensions
{
    /// <summary>The <c>link-metadata</c> job: its options (<c>Worker:LinkMetadata</c>), the safe fetcher, the preview service.</summary>
    public static IServiceCollection AddLinkMetadata(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(LinkMetadataOptions.SectionName);
        services.AddOptionsWithValidateOnStart<LinkMetadataOptions>().Bind(section);
        services.AddOptions<LinkFetcherOptions>().Bind(section);
        services.AddSingleton<IValidateOptions<LinkMetadataOptions>, LinkMetadataOptionsValidator>();
        services.AddSingleton<LinkFetcher>();
        services.AddSingleton<LinkPreviewService>();
        services.AddSingleton<PreviewCache>();
        services.AddJobHandler<LinkMetadataHandler>();
        return services;
    }
}
