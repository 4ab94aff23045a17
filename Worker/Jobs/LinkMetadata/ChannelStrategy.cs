namespace Worker.Jobs.LinkMetadata;

/// <summary>Where <c>link_metadata_updated</c> goes (the seeds' three options; section is their recommendation).</summary>
internal enum ChannelStrategy
{
    /// <summary><c>section:&lt;section_id&gt;</c>: everyone viewing the post's section feed.</summary>
    Section,

    /// <summary><c>post:&lt;post_id&gt;</c>: only those viewing the post.</summary>
    Post,

    /// <summary>One channel for everyone (<c>LinkMetadataOptions.GlobalChannel</c>).</summary>
    Global,
}
