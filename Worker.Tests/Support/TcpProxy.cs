using System.Net;
using System.Net.Sockets;

namespace Worker.Tests.Support;

/// <summary>
/// A loopback TCP forwarder the tests can cut: <see cref="Cut"/> closes every connection and refuses new ones, as a
/// server going away does; <see cref="Restore"/> lets connections through again. <see cref="Freeze"/> is a network
/// partition instead: connections stay open and new ones are accepted, but no byte moves either way until
/// <see cref="Thaw"/>, which delivers what was held, as TCP retransmission would.
/// </summary>
internal sealed class TcpProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<TcpClient> _open = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private volatile bool _cut;
    private volatile TaskCompletionSource _flowing = Flowing();

    public TcpProxy(string host, int port)
    {
        _target = new IPEndPoint(Dns.GetHostAddresses(host).First(a => a.AddressFamily == AddressFamily.InterNetwork), port);
        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public void Cut()
    {
        _cut = true;
        lock (_lock)
        {
            foreach (var client in _open)
            {
                Abort(client);
            }

            _open.Clear();
        }
    }

    public void Restore() => _cut = false;

    public void Freeze()
    {
        if (_flowing.Task.IsCompleted)
        {
            _flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void Thaw() => _flowing.TrySetResult();

    private static TaskCompletionSource Flowing()
    {
        var flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        flowing.SetResult();
        return flowing;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        try
        {
            await _loop;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            if (_cut)
            {
                Abort(inbound);
                continue;
            }

            _ = Task.Run(() => PipeAsync(inbound));
        }
    }

    /// <summary>Closes with a reset (linger 0), as a crashed server's connections end; a client already closed is fine.</summary>
    private static void Abort(TcpClient client)
    {
        try
        {
            if (client.Client is { } socket)
            {
                socket.LingerState = new LingerOption(true, 0);
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
        }

        client.Dispose();
    }

    private async Task PipeAsync(TcpClient inbound)
    {
        var outbound = new TcpClient();
        try
        {
            await outbound.ConnectAsync(_target);
            lock (_lock)
            {
                _open.Add(inbound);
                _open.Add(outbound);
            }

            var a = CopyAsync(inbound.GetStream(), outbound.GetStream());
            var b = CopyAsync(outbound.GetStream(), inbound.GetStream());
            await Task.WhenAny(a, b);
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            inbound.Dispose();
            outbound.Dispose();
            lock (_lock)
            {
                _open.Remove(inbound);
                _open.Remove(outbound);
            }
        }
    }

    /// <summary>Forwards until either side closes; while frozen, each chunk waits for the thaw before it is written.</summary>
    private async Task CopyAsync(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            await _flowing.Task.WaitAsync(_stop.Token);
            await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
        }
    }
}
