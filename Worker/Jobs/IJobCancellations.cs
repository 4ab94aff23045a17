namespace Worker.Jobs;

/// <summary>The cancelled jobs of one type, as the transport learns of them (<c>Streams/CancelWatch</c>).</summary>
internal interface IJobCancellations
{
    /// <summary>Whether <paramref name="jobId"/> was cancelled: free while nothing is.</summary>
    bool IsCancelled(string jobId);

    /// <summary>Lets <paramref name="cancelRunning"/> stop a running execution of a cancelled job (true when it had one).</summary>
    void Register(Func<string, bool> cancelRunning);
}
