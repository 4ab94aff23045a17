using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Worker.Tests.Support;

/// <summary>
/// A raw HTTP/1.1 server on 127.0.0.1 for fetcher tests: each route writes whatever bytes it likes (hostile ones
/// included). Counts accepted connections, and the most requests it held at once.
/// </summary>
internal sealed class PageServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Dictionary<string, Func<Stream, CancellationToken, Task>> _routes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _connections;
    private int _active;
    private int _maxActive;

    public PageServer()
    {
        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Connections => Volatile.Read(ref _connections);

    public int MaxConcurrentRequests => Volatile.Read(ref _maxActive);

    public Uri Url(string path) => new($"http://127.0.0.1:{Port}{path}");

    public PageServer Route(string path, Func<Stream, CancellationToken, Task> respond)
    {
        _routes[path] = respond;
        return this;
    }

    public PageServer Html(string path, string html, string contentType = "text/html; charset=utf-8") =>
        Route(path, (s, ct) => WriteAsync(s, 200, [("Content-Type", contentType)], Encoding.UTF8.GetBytes(html), ct));

    public PageServer Status(string path, int status, params (string, string)[] headers) =>
        Route(path, (s, ct) => WriteAsync(s, status, headers, [], ct));

    public PageServer Redirect(string path, string location, int status = 302) => Status(path, status, ("Location", location));

    public static async Task WriteAsync(Stream stream, int status, IEnumerable<(string Name, string Value)> headers, byte[] body, CancellationToken ct)
    {
        var head = new StringBuilder($"HTTP/1.1 {status} X\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append($"{name}: {value}\r\n");
        }

        head.Append($"Content-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), ct);
        await stream.WriteAsync(body, ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
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
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            Interlocked.Increment(ref _connections);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        try
        {
            var path = await ReadRequestPathAsync(stream);
            var now = Interlocked.Increment(ref _active);
            int max;
            while ((max = Volatile.Read(ref _maxActive)) < now && Interlocked.CompareExchange(ref _maxActive, now, max) != max)
            {
            }

            try
            {
                if (path is not null && _routes.TryGetValue(path, out var respond))
                {
                    await respond(stream, _stop.Token);
                }
                else
                {
                    await WriteAsync(stream, 404, [], [], _stop.Token);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _active);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client gave up (a cap, a deadline): that is what these tests provoke.
        }
    }

    private static async Task<string?> ReadRequestPathAsync(Stream stream)
    {
        var buffer = new byte[8192];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length));
            if (read == 0)
            {
                return null;
            }

            length += read;
            var text = Encoding.ASCII.GetString(buffer, 0, length);
            if (text.Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var firstLine = text[..text.IndexOf('\r')];
                var parts = firstLine.Split(' ');
                return parts.Length >= 2 ? parts[1] : null;
            }
        }

        return null;
    }
}
