namespace Worker.Hosting;

/// <summary>Process exit codes, documented in the README.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>A runtime failure: Redis or PostgreSQL unreachable, an unexpected error.</summary>
    public const int Failure = 1;
    /// <summary>The configuration is invalid; stderr names the key.</summary>
    public const int Configuration = 2;
    /// <summary><c>enqueue</c> refused: the stream's backlog is at its maximum.</summary>
    public const int QueueFull = 3;
    /// <summary><c>cancel</c> changed nothing: the job had already finished (succeeded or dead-lettered).</summary>
    public const int AlreadyFinished = 4;
    /// <summary>The command line is wrong.</summary>
    public const int Usage = 64;
}
