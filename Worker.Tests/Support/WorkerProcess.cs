using System.Diagnostics;
using System.Text;

namespace Worker.Tests.Support;

/// <summary>The worker as a separate process, for what only a real process shows: kill -9, exit codes, stderr.</summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _stdout = new();

    private WorkerProcess(Process process) => _process = process;

    /// <summary>The pid, also after the process has ended and been disposed.</summary>
    public int Id { get; private set; }

    public bool HasExited => _process.HasExited;

    public string StandardError { get { lock (_stderr) { return _stderr.ToString(); } } }

    public string StandardOutput { get { lock (_stdout) { return _stdout.ToString(); } } }

    public static WorkerProcess Start(IDictionary<string, string?> settings, params string[] args) => StartWithInput(settings, null, args);

    /// <summary>With <paramref name="input"/> on its standard input (then closed), when given.</summary>
    public static WorkerProcess StartWithInput(IDictionary<string, string?> settings, string? input, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(TestEnvironment.WorkerDll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["ConnectionStrings__Redis"] = TestEnvironment.Redis;
        info.Environment["ConnectionStrings__Postgres"] = TestEnvironment.Postgres;
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["Worker__Http__Port"] = "0";
        info.Environment["Worker__Jobs__link-metadata__Enabled"] = "false";
        foreach (var (key, value) in settings)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = new Process { StartInfo = info };
        var worker = new WorkerProcess(process);
        process.OutputDataReceived += (_, e) => { lock (worker._stdout) { worker._stdout.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (worker._stderr) { worker._stderr.AppendLine(e.Data); } };
        process.Start();
        worker.Id = process.Id;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (input is not null)
        {
            process.StandardInput.Write(input);
            process.StandardInput.Close();
        }

        return worker;
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(limit.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGSTOP or SIGCONT: a process frozen by a long GC pause, a stalled VM or a debugger.</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>SIGKILL: no drain, no ack, no release; what a crash or an OOM kill leaves behind.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }
}
