using System.Text.Json;

namespace Worker.Jobs.LinkMetadata;

/// <summary>
/// <c>{"type":"link_metadata_updated","data":{"post_id":...,"link_id":...,"metadata":{...}}}</c>, published after the
/// commit on the channel the strategy picks, as the seeds' backend does, so front ends update the preview live.
/// </summary>
internal sealed record LinkMetadataUpdated(string Type, LinkMetadataUpdatedData Data)
{
    public const string EventType = "link_metadata_updated";

    public static LinkMetadataUpdated Create(Guid postId, Guid linkId, JsonElement metadata) =>
        new(EventType, new LinkMetadataUpdatedData(postId, linkId, metadata));
}

internal sealed record LinkMetadataUpdatedData(Guid PostId, Guid LinkId, JsonElement Metadata);
