using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Worker.Diagnostics;
using Worker.Jobs;
using Worker.Persistence;

namespace Worker.Streams;

/// <summary>
/// Enqueues jobs in the wire format (<c>type</c>, <c>payload</c>, <c>job_id</c>, <c>enqueued_at</c>, <c>traceparent</c>),
/// refusing with <see cref="QueueFullException"/> when the backlog is at the configured maximum. The check and the
/// appends run in one script, one round trip per batch. With <c>Worker:Redis:WaitForReplica</c> (the default) an enqueue
/// returns only once a replica has it, when the master has one, and fails with <see cref="ReplicaWriteTimeoutException"/>
/// when none confirms in time: the jobs may then be on the master only, and enqueueing them again with the same job
/// ids is safe.
/// </summary>
internal sealed class JobQueue(
    IConnectionMultiplexer redis, ReplicatedWrites replicated, JobTypeCatalog jobTypes, IEnumerable<IJobHandler> handlers, TimeProvider time,
    IServiceScopeFactory scopes)
{
    private readonly HashSet<string> _known = handlers.Select(h => h.JobType).ToHashSet(StringComparer.Ordinal);

    /// <summary>Whether a handler of <paramref name="jobType"/> is registered; <paramref name="known"/> lists those that are.</summary>
    public bool Knows(string jobType, out string known)
    {
        known = string.Join(", ", _known.Order());
        return _known.Contains(jobType);
    }

    /// <summary>
    /// Enqueues one job; with <paramref name="runAt"/> it does not start before then (a delayed job), with
    /// <paramref name="priority"/> it waits in that lane (the job type needs <c>Priorities</c>).
    /// </summary>
    /// <returns>The job id: <paramref name="jobId"/>, else the entry id, else (a type with several streams) the one given here.</returns>
    public async Task<string> EnqueueAsync(
        string jobType, string payloadJson, string? jobId = null, string? traceParent = null, DateTimeOffset? runAt = null,
        JobPriority priority = JobPriority.Normal)
    {
        var (entryIds, jobs) = await EnqueueCoreAsync(jobType, [new JobRequest(payloadJson, jobId, traceParent, runAt) { Priority = priority }]);
        return jobs[0].JobId ?? entryIds[0];
    }

    /// <summary>
    /// Appends all or none (per stream, when the job type has several: each partition's and lane's share is one
    /// script); returns the entry ids in order. Throws <see cref="QueueFullException"/> (nothing appended to that
    /// stream) or <see cref="ReplicaWriteTimeoutException"/> (appended on the master, not confirmed by a replica).
    /// </summary>
    public async Task<IReadOnlyList<string>> EnqueueBatchAsync(string jobType, IReadOnlyList<JobRequest> jobs) =>
        (await EnqueueCoreAsync(jobType, jobs)).EntryIds;

    /// <summary>
    /// Cancels a job of <paramref name="jobType"/>: if it has not started it never will (its entry is acked unrun when a
    /// replica meets it); if it runs, its handler's token is cancelled on whichever replica runs it, within a second.
    /// Either way it ends <c>cancelled</c>: not retried, not dead-lettered, and with job state its effects, applied
    /// through <c>ApplyEffectsOnceAsync</c>, never apply after the cancel. A job that finished first (succeeded,
    /// dead-lettered) is left as it is. Without job state a cancel is remembered for
    /// <see cref="CancelWatch.Keep"/> and whether the job had finished is unknown.
    /// </summary>
    public async Task<CancelResult> CancelAsync(string jobType, string jobId)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var settings = Settings(jobType);
        string? status = null;
        if (settings.PersistState)
        {
            await using var scope = scopes.CreateAsyncScope();
            status = await scope.ServiceProvider.GetRequiredService<JobStateStore>().CancelAsync(jobType, jobId, CancellationToken.None);
            if (status != JobStatusText.Cancelled)
            {
                return new CancelResult(status, Cancelled: false);
            }
        }

        var db = replicated.Enabled ? await replicated.DatabaseAsync() : redis.GetDatabase();
        await db.ScriptEvaluateAsync(
            StreamScripts.Cancel, [settings.CancelledKey], [jobId, settings.CancelChannel, (long)CancelWatch.Keep.TotalMilliseconds]);
        if (replicated.Enabled)
        {
            await replicated.RequireAsync(settings.CancelledKey);
        }

        return new CancelResult(status, Cancelled: true);
    }

    /// <summary>The settings of a job type this queue knows; an unknown one is an <see cref="ArgumentException"/>.</summary>
    private JobTypeSettings Settings(string jobType)
    {
        if (!_known.Contains(jobType))
        {
            throw new ArgumentException($"unknown job type '{jobType}' (known: {string.Join(", ", _known.Order())})", nameof(jobType));
        }

        return jobTypes.Resolve(jobType);
    }

    /// <summary>The entry ids, and the jobs as enqueued (with the ids given to those that had none).</summary>
    private async Task<(IReadOnlyList<string> EntryIds, IReadOnlyList<JobRequest> Jobs)> EnqueueCoreAsync(string jobType, IReadOnlyList<JobRequest> jobs)
    {
        var settings = Settings(jobType);
        if (!settings.Priorities && jobs.FirstOrDefault(j => j.Priority != JobPriority.Normal) is { } prioritized)
        {
            throw new ArgumentException(
                $"job type '{jobType}' has no priority lanes for a {JobPriorities.ToText(prioritized.Priority)} job: set Worker:Jobs:{jobType}:Priorities to true",
                nameof(jobs));
        }

        if (settings.Partitions == 1 && jobs.All(j => j.Priority == JobPriority.Normal))
        {
            return (await AppendAsync(settings, jobs), jobs);
        }

        // A job goes to its id's partition and its priority's lane. One without an id gets one here: entry ids are
        // unique per stream only, so across streams they would not name one job each (an entry added by another
        // producer without one is told apart by its stream instead: JobExecutor).
        var shares = new Dictionary<(int Partition, JobPriority Lane), List<int>>();
        var named = new JobRequest[jobs.Count];
        for (var i = 0; i < jobs.Count; i++)
        {
            named[i] = jobs[i].JobId is { Length: > 0 } ? jobs[i] : jobs[i] with { JobId = Guid.NewGuid().ToString("N") };
            var key = (JobTypeSettings.PartitionOf(named[i].JobId!, settings.Partitions), named[i].Priority);
            if (!shares.TryGetValue(key, out var share))
            {
                shares[key] = share = [];
            }

            share.Add(i);
        }

        var ids = new string[jobs.Count];
        var partitions = settings.AllPartitions();
        foreach (var ((partition, lane), share) in shares)
        {
            var appended = await AppendAsync(partitions[partition].InLane(lane), [.. share.Select(i => named[i])]);
            for (var i = 0; i < share.Count; i++)
            {
                ids[share[i]] = appended[i];
            }
        }

        return (ids, named);
    }

    /// <summary>One script on one stream: the backlog check and the appends.</summary>
    private async Task<IReadOnlyList<string>> AppendAsync(JobTypeSettings settings, IReadOnlyList<JobRequest> jobs)
    {
        var jobType = settings.JobType;
        using var activity = WorkerActivity.StartEnqueue(jobType, settings.StreamKey);
        // A caller inside a trace passes it on: the handler's span continues the enqueuing one.
        var ambient = activity?.Id ?? (Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null);
        var enqueuedAt = time.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var args = new List<RedisValue>(3 + (jobs.Count * 7)) { settings.Group, settings.MaxBacklog, jobs.Count };
        foreach (var job in jobs)
        {
            AddFields(args, jobType, job, job.TraceParent ?? ambient, enqueuedAt);
        }

        var db = replicated.Enabled ? await replicated.DatabaseAsync() : redis.GetDatabase();
        var reply = (RedisResult[])(await db.ScriptEvaluateAsync(StreamScripts.Enqueue, [settings.StreamKey], [.. args]))!;
        if ((long)reply[0] == 0)
        {
            throw new QueueFullException(jobType, (long)reply[1], settings.MaxBacklog);
        }

        if (replicated.Enabled)
        {
            await replicated.RequireAsync(settings.StreamKey);
        }

        var ids = new string[reply.Length - 1];
        for (var i = 1; i < reply.Length; i++)
        {
            ids[i - 1] = (string)reply[i]!;
        }

        return ids;
    }

    /// <summary>Appends one job to the script's arguments: its field count, then its fields and values.</summary>
    private static void AddFields(List<RedisValue> args, string jobType, JobRequest job, string? traceParent, string enqueuedAt)
    {
        try
        {
            using var _ = JsonDocument.Parse(job.PayloadJson);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"the payload is not valid JSON: {e.Message}", nameof(job), e);
        }

        var countAt = args.Count;
        args.Add(0);
        args.AddRange([StreamFields.Type, jobType, StreamFields.Payload, job.PayloadJson, StreamFields.EnqueuedAt, enqueuedAt]);
        if (!string.IsNullOrEmpty(job.JobId))
        {
            args.AddRange([StreamFields.JobId, job.JobId]);
        }

        if (!string.IsNullOrEmpty(traceParent))
        {
            args.AddRange([StreamFields.TraceParent, traceParent]);
        }

        if (job.RunAt is { } runAt)
        {
            args.AddRange([StreamFields.RunAt, runAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)]);
        }

        if (job.Priority != JobPriority.Normal)
        {
            args.AddRange([StreamFields.Priority, JobPriorities.ToText(job.Priority)]);
        }

        args[countAt] = args.Count - countAt - 1;
    }
}

/// <summary>
/// What a cancel did: <see cref="Cancelled"/> true when the job is now cancelled; otherwise <see cref="Status"/> says how
/// it had finished. <see cref="Status"/> is null without job state (nothing tells whether the job had finished).
/// </summary>
internal sealed record CancelResult(string? Status, bool Cancelled);
