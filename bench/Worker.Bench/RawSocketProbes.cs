using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Worker.Bench;

/// <summary>
/// Probes of the machine under the pickup path, with no client library and no thread pool: plain blocking sockets,
/// each end on a thread of its own. They answer what the worker cannot do better than, on this VM.
/// </summary>
internal static class RawSocketProbes
{
    /// <summary>
    /// One thread wakes another over a loopback socket RATE times a second; with CPUs given, each thread is pinned
    /// (the same CPU for both, or one each: a wake-up that must cross vCPUs). Milliseconds from send to wake-up.
    /// </summary>
    public static double[] Wake(int rate, int seconds, int? senderCpu, int? receiverCpu)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        sender.Connect(listener.LocalEndPoint!);
        using var receiver = listener.Accept();
        var samples = new double[rate * seconds];
        var thread = new Thread(() =>
        {
            Pin(receiverCpu);
            var stamp = new byte[8];
            for (var i = 0; i < samples.Length; i++)
            {
                for (var n = 0; n < stamp.Length;)
                {
                    n += receiver.Receive(stamp, n, stamp.Length - n, SocketFlags.None);
                }

                samples[i] = Stopwatch.GetElapsedTime(BitConverter.ToInt64(stamp), Stopwatch.GetTimestamp()).TotalMilliseconds;
            }
        });
        var producer = new Thread(() =>
        {
            Pin(senderCpu);
            var message = new byte[8];
            OpenLoop.Run(rate, samples.Length, () =>
            {
                BitConverter.TryWriteBytes(message, Stopwatch.GetTimestamp());
                sender.Send(message);
            });
        });
        thread.Start();
        producer.Start();
        producer.Join();
        thread.Join();
        return samples;
    }

    /// <summary>
    /// The pickup floor's shape in .NET without the client library: a producer thread sends <c>XADD</c> RATE times a
    /// second on one connection, a reader thread parks <c>XREADGROUP ... BLOCK</c> on another and stamps each entry
    /// when its reply arrives. Milliseconds from just before the send to the reply (RESP2, a fresh connection's default).
    /// </summary>
    public static double[] Pickup(EndPoint redis, string stream, int rate, int seconds)
    {
        var samples = new List<double>(rate * seconds);
        using var reader = new RespConnection(redis);
        using var producer = new RespConnection(redis);
        reader.Call("XGROUP", "CREATE", stream, "raw", "$", "MKSTREAM");
        var giveUp = Stopwatch.StartNew();
        var thread = new Thread(() =>
        {
            // Every entry arrives (one stream, one reader); the bound only keeps a broken run from hanging.
            while (samples.Count < rate * seconds && giveUp.Elapsed < TimeSpan.FromSeconds(seconds + 30))
            {
                reader.Send("XREADGROUP", "GROUP", "raw", "c", "COUNT", "10", "BLOCK", "1000", "STREAMS", stream, ">");
                var arrived = reader.WaitForReply();
                var afterT = false;
                foreach (var value in reader.ReadBulkStrings())
                {
                    if (afterT)
                    {
                        samples.Add(Stopwatch.GetElapsedTime(long.Parse(value, CultureInfo.InvariantCulture), arrived).TotalMilliseconds);
                    }

                    afterT = !afterT && value == "t";
                }
            }
        });
        thread.Start();
        OpenLoop.Run(rate, rate * seconds, () => producer.Call("XADD", stream, "*", "t", Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture)));
        thread.Join();
        producer.Call("DEL", stream);
        return [.. samples];
    }

    private static void Pin(int? cpu)
    {
        if (cpu is { } c)
        {
            var mask = 1UL << c;
            if (sched_setaffinity(0, sizeof(ulong), ref mask) != 0)
            {
                throw new InvalidOperationException($"sched_setaffinity to CPU {c} failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int sched_setaffinity(int pid, nint size, ref ulong mask);

    /// <summary>One blocking RESP2 connection: enough for the probe's commands, nothing else.</summary>
    private sealed class RespConnection : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        private readonly byte[] _buffer = new byte[1 << 16];
        private int _start, _end;

        public RespConnection(EndPoint redis) => _socket.Connect(redis);

        public void Send(params string[] args)
        {
            var command = new StringBuilder().Append(CultureInfo.InvariantCulture, $"*{args.Length}\r\n");
            foreach (var arg in args)
            {
                command.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(arg)}\r\n{arg}\r\n");
            }

            _socket.Send(Encoding.UTF8.GetBytes(command.ToString()));
        }

        /// <summary>Sends a command and reads its reply, failing on an error reply.</summary>
        public void Call(params string[] args)
        {
            Send(args);
            WaitForReply();
            _ = ReadBulkStrings().Count();
        }

        /// <summary>Blocks until the next reply's first bytes are in; the timestamp of that moment.</summary>
        public long WaitForReply()
        {
            if (_start == _end)
            {
                Fill();
            }

            return Stopwatch.GetTimestamp();
        }

        /// <summary>Every bulk string of the next reply, depth first (arrays walked, nil and integers skipped).</summary>
        public IEnumerable<string> ReadBulkStrings()
        {
            var pending = 1L;
            while (pending-- > 0)
            {
                var line = ReadLine();
                if (line[0] == '-')
                {
                    throw new InvalidOperationException($"Redis answered {line}");
                }

                var n = line[0] is '*' or '$' ? long.Parse(line.AsSpan(1), CultureInfo.InvariantCulture) : 0;
                switch (line[0])
                {
                    case '*' when n > 0:
                        pending += n;
                        break;
                    case '$' when n >= 0:
                        while (_end - _start < n + 2)
                        {
                            Fill();
                        }

                        var value = Encoding.UTF8.GetString(_buffer, _start, (int)n);
                        _start += (int)n + 2;
                        yield return value;
                        break;
                }
            }
        }

        private string ReadLine()
        {
            while (true)
            {
                var cr = Array.IndexOf(_buffer, (byte)'\r', _start, _end - _start);
                if (cr >= 0 && cr + 1 < _end)
                {
                    var line = Encoding.UTF8.GetString(_buffer, _start, cr - _start);
                    _start = cr + 2;
                    return line;
                }

                Fill();
            }
        }

        private void Fill()
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                (_end, _start) = (_end - _start, 0);
            }

            var n = _socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
            if (n <= 0)
            {
                throw new IOException("Redis closed the connection");
            }

            _end += n;
        }

        public void Dispose() => _socket.Dispose();
    }
}
