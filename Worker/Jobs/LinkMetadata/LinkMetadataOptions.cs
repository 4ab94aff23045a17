using System.ComponentModel.DataAnnotations;

namespace Worker.Jobs.LinkMetadata;

/// <summary>The job's own settings under <c>Worker:LinkMetadata</c> (the fetcher's share the section).</summary>
internal sealed class LinkMetadataOptions
{
    public const string SectionName = "Worker:LinkMetadata";

    /// <summary>Total time for all the network work of one job (page, oEmbed): 30 seconds.</summary>
    public static readonly TimeSpan DefaultJobDeadline = TimeSpan.FromSeconds(30);

    /// <summary>What the oEmbed fetch leaves of the job's deadline for storing the page's preview: 2 seconds.</summary>
    public static readonly TimeSpan DefaultOEmbedReserve = TimeSpan.FromSeconds(2);

    /// <summary>How long a URL's preview is reused for another link to the same URL: 1 hour.</summary>
    public static readonly TimeSpan DefaultCacheTtl = TimeSpan.FromHours(1);

    public ChannelStrategy ChannelStrategy { get; set; } = ChannelStrategy.Section;

    [Required(AllowEmptyStrings = false)]
    public string GlobalChannel { get; set; } = "global";

    public TimeSpan JobDeadline { get; set; } = DefaultJobDeadline;

    /// <summary>The oEmbed fetch gets what is left of <see cref="JobDeadline"/> minus this; a slow endpoint costs the player only.</summary>
    public TimeSpan OEmbedReserve { get; set; } = DefaultOEmbedReserve;

    /// <summary>Zero turns the cache off.</summary>
    public TimeSpan CacheTtl { get; set; } = DefaultCacheTtl;

    /// <summary>Fetch a discovered oEmbed endpoint (through the same safe fetcher) for the embed html.</summary>
    public bool FetchOEmbed { get; set; } = true;
}
