using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Worker.Events;
using Worker.Jobs.LinkMetadata.Extraction;
using Worker.Jobs.LinkMetadata.Fetching;
using Worker.Persistence;

namespace Worker.Jobs.LinkMetadata;

/// <summary>
/// The seeds' metadata worker: fetches the posted link safely, extracts its preview, stores it on the link row
/// (once, however often the job is delivered) and publishes <c>link_metadata_updated</c> to the post's channel.
/// A missing link or post is permanent; a failed publish is logged and does not fail the job.
/// </summary>
internal sealed partial class LinkMetadataHandler(
    LinkPreviewService previews,
    PreviewCache cache,
    IOptions<LinkFetcherOptions> fetcherOptions,
    EventSink events,
    IOptions<LinkMetadataOptions> options,
    TimeProvider time,
    ILogger<LinkMetadataHandler> logger) : IJobHandler
{
    public const string Type = "link-metadata";

    public string JobType => Type;

    public async Task HandleAsync(JobContext context, CancellationToken cancellationToken)
    {
        var payload = context.GetPayload(LinkMetadataJsonContext.Default.LinkMetadataPayload);
        if (payload.PostId == Guid.Empty || payload.LinkId == Guid.Empty || string.IsNullOrWhiteSpace(payload.Url))
        {
            throw new PermanentJobException("malformed_payload", "post_id, link_id and url are required");
        }

        // Rows first: a job for a deleted link must not cost a fetch, and is not worth retrying.
        var db = context.Services.GetRequiredService<WorkerDbContext>();
        var linkPost = await db.Links.AsNoTracking().Where(l => l.Id == payload.LinkId).Select(l => (Guid?)l.PostId).FirstOrDefaultAsync(cancellationToken)
            ?? throw new PermanentJobException("link_not_found", $"link {payload.LinkId} does not exist");
        var sectionId = await db.Posts.AsNoTracking().Where(p => p.Id == payload.PostId).Select(p => (Guid?)p.SectionId).FirstOrDefaultAsync(cancellationToken)
            ?? throw new PermanentJobException("post_not_found", $"post {payload.PostId} does not exist");
        if (linkPost != payload.PostId)
        {
            throw new PermanentJobException("link_post_mismatch", $"link {payload.LinkId} belongs to post {linkPost}, not {payload.PostId}");
        }

        string metadata;
        // The job's deadline bounds every wait on the remote side (DNS, connect, TLS, body, oEmbed): the slot is never
        // held for a remote host's sake longer than this.
        var deadlineAt = time.GetUtcNow() + options.Value.JobDeadline;
        using (var timer = new CancellationTokenSource(options.Value.JobDeadline, time))
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token))
        {
            try
            {
                var url = UrlPolicy.Validate(payload.Url, fetcherOptions.Value);
                metadata = await cache.GetAsync(url) ?? await FetchAsync(url, deadlineAt, deadline.Token);
            }
            catch (FetchException e) when (e.IsTransient)
            {
                throw new TransientJobException(e.Reason, e.Message, e.RetryAfter, e);
            }
            catch (FetchException e)
            {
                throw new PermanentJobException(e.Reason, e.Message, e);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new TransientJobException("timeout", $"the link's network work took longer than {options.Value.JobDeadline.TotalSeconds:0} s");
            }
        }

        await context.ApplyEffectsOnceAsync(
            async (effects, ct) =>
            {
                var link = await effects.Links.FirstOrDefaultAsync(l => l.Id == payload.LinkId, ct)
                    ?? throw new PermanentJobException("link_not_found", $"link {payload.LinkId} was deleted meanwhile");
                link.Metadata = metadata;
                link.UpdatedAt = time.GetUtcNow();
            },
            cancellationToken);

        // After the commit. A duplicate delivery publishes again: harmless for a UI that replaces the preview.
        Publish(sectionId, payload, metadata);
    }

    private async Task<string> FetchAsync(Uri url, DateTimeOffset deadline, CancellationToken ct)
    {
        var preview = await previews.PreviewAsync(url, deadline, ct);
        var json = JsonSerializer.Serialize(preview, LinkPreviewJsonContext.Default.LinkPreview);
        if (preview.ContentKind != "unsupported")
        {
            await cache.SetAsync(url, json);
        }

        return json;
    }

    private void Publish(Guid sectionId, LinkMetadataPayload payload, string metadata)
    {
        var settings = options.Value;
        var channel = ChannelNames.For(settings.ChannelStrategy, sectionId, payload.PostId, settings.GlobalChannel);
        try
        {
            var message = JsonSerializer.SerializeToUtf8Bytes(
                LinkMetadataUpdated.Create(payload.PostId, payload.LinkId, metadata),
                LinkMetadataJsonContext.Default.LinkMetadataUpdated);
            events.Publish(channel, LinkMetadataUpdated.EventType, message);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or JsonException or ArgumentException)
        {
            LogPublishFailed(logger, e, channel, payload.LinkId);
        }
    }

    [LoggerMessage(EventId = 4001, EventName = "LinkMetadataPublishFailed", Level = LogLevel.Warning,
        Message = "Publishing link_metadata_updated on {Channel} for link {LinkId} failed; the metadata is saved")]
    private static partial void LogPublishFailed(ILogger logger, Exception error, string channel, Guid linkId);
}
