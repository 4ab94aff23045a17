namespace Worker.Jobs;

/// <summary>The job was cancelled (<c>cancel</c>, <c>JobQueue.CancelAsync</c>): it ends <c>cancelled</c>, not retried, not dead-lettered.</summary>
internal sealed class JobCancelledException(string jobId) : Exception($"job {jobId} was cancelled");
