using System.Net;
using System.Net.Sockets;

namespace Worker.Tests.Support;

/// <summary>
/// A loopback port where a TCP connect hangs: a listener with a backlog of zero that never accepts, its one queue
/// place taken by a connection of its own. Linux drops the SYNs of every later connect while the accept queue is full,
/// so they neither succeed nor are refused: the local stand-in for a host that black-holes packets.
/// </summary>
internal sealed class HungListener : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly Socket _filler = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public HungListener()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(0);
        _filler.Connect(_listener.LocalEndPoint!);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    public Uri Url(string path) => new($"http://127.0.0.1:{Port}{path}");

    public void Dispose()
    {
        _filler.Dispose();
        _listener.Dispose();
    }
}
