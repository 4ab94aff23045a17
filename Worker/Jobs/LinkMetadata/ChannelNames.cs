namespace Worker.Jobs.LinkMetadata;

/// <summary>The pub/sub channels of the seeds' backend: <c>section:&lt;id&gt;</c>, <c>post:&lt;id&gt;</c> or one global channel.</summary>
internal static class ChannelNames
{
    public static string For(ChannelStrategy strategy, Guid sectionId, Guid postId, string globalChannel) => strategy switch
    {
        ChannelStrategy.Section => $"section:{sectionId}",
        ChannelStrategy.Post => $"post:{postId}",
        _ => globalChannel,
    };
}
