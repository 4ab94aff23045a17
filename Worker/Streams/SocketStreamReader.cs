using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using StackExchange.Redis;
using StackExchange.Redis.Configuration;

namespace Worker.Streams;

/// <summary>
/// The reader on a blocking socket of its own (TLS over it when the configuration says <c>ssl=true</c>), speaking
/// RESP2. The read loop's thread-pool thread sends <c>XREADGROUP ... BLOCK</c> and waits in the kernel for the reply,
/// so an entry added to an idle stream wakes that thread directly, and the job starts on it (<see cref="JobConsumer"/>);
/// the acks of jobs finished since the last read go out in the same write as the next read. StackExchange.Redis would
/// add two hand-offs on the way (its reader, then a completion on another pool thread), and each hand-off that wakes
/// an idle vCPU can cost milliseconds on a VM (docs/benchmarks.md, "Latency").
/// <para>
/// Nothing is lost if the connection dies: entries Redis handed over are in this consumer's pending list, and the
/// maintenance loop reclaims what no slot owns. Any failure drops the connection; the next read reconnects.
/// </para>
/// </summary>
internal sealed class SocketStreamReader : IStreamReader
{
    /// <summary>Slack above the block time before a read gives up: 5 seconds.</summary>
    private static readonly TimeSpan TimeoutSlack = TimeSpan.FromSeconds(5);

    /// <summary>Cluster redirects followed within one read before it fails: 5.</summary>
    private const int MaxRedirects = 5;

    private static readonly Lock ReserveGate = new();

    private readonly ConfigurationOptions _options;
    private readonly string _clientName;
    private byte[] _command = new byte[1024];
    private readonly Func<EndPoint> _locate;
    private EndPoint _endPoint;
    private Connection? _connection;
    private long _clientId = -1;
    private volatile bool _disposed;

    private SocketStreamReader(ConfigurationOptions options, string clientName, Func<EndPoint>? locate)
    {
        (_options, _clientName) = (options, clientName);
        var configured = options.EndPoints[0];
        _locate = locate ?? (() => configured);
        _endPoint = _locate();
    }

    public long ClientId => Interlocked.Read(ref _clientId);

    /// <summary>The node the reader reads from now (or connects to next).</summary>
    public EndPoint? Server => Volatile.Read(ref _endPoint);

    /// <summary>Why this reader cannot serve <paramref name="options"/>, or null when it can.</summary>
    public static string? Unsupported(ConfigurationOptions options) => options switch
    {
        { ServiceName.Length: > 0 } => "Sentinel (serviceName)",
        { Tunnel: not null } => "a tunnel or proxy",
        { EndPoints.Count: 0 } => "no endpoint",
        _ => null,
    };

    /// <summary>
    /// A reader that connects to what <paramref name="locate"/> names (by default the configured endpoint): at first,
    /// and again after a connection failure. A cluster's <c>MOVED</c> takes it to the node named there at once.
    /// </summary>
    public static async Task<SocketStreamReader> ConnectAsync(ConfigurationOptions options, string clientName, Func<EndPoint>? locate = null)
    {
        var reader = new SocketStreamReader(options, clientName, locate);
        await reader.ConnectAsync();
        ReserveThread(+1);
        return reader;
    }

    public async ValueTask<StreamEntry[]> ReadAsync(
        string streamKey, string group, string consumer, int count, TimeSpan block, ReadOnlyMemory<string> acks = default)
    {
        for (var redirects = 0; ; redirects++)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var connection = _connection ?? await ConnectAsync();
            try
            {
                connection.SetReadTimeout(block + TimeoutSlack);
                EnsureCommandRoom((2 * streamKey.Length) + (2 * group.Length) + consumer.Length + AckChars(acks.Span), 32 * acks.Length);
                var command = new RespWriter(_command);
                // Once an ack has gone through on this connection, the next ones ask Redis not to reply: the read's
                // reply then wakes this thread once per pickup, not twice. The read on the same key and group fails
                // in their place on any error they could meet but a permission taken away since.
                var awaitAckReply = !acks.IsEmpty && !connection.SkipsAckReplies;
                if (!acks.IsEmpty)
                {
                    if (!awaitAckReply)
                    {
                        command.SkipNextReply();
                    }

                    command.Array(3 + acks.Length);
                    command.Bulk("XACK");
                    command.Bulk(streamKey);
                    command.Bulk(group);
                    foreach (var id in acks.Span)
                    {
                        command.Bulk(id);
                    }
                }

                command.Array(block > TimeSpan.Zero ? 11 : 9);
                command.Bulk("XREADGROUP");
                command.Bulk("GROUP");
                command.Bulk(group);
                command.Bulk(consumer);
                command.Bulk("COUNT");
                command.Bulk(count);
                if (block > TimeSpan.Zero)
                {
                    command.Bulk("BLOCK");
                    command.Bulk((long)block.TotalMilliseconds);
                }

                command.Bulk("STREAMS");
                command.Bulk(streamKey);
                command.Bulk(">");
                connection.Stream.Write(_command, 0, command.Length);
                RedisServerException? ackFailed = null;
                if (awaitAckReply)
                {
                    try
                    {
                        connection.Replies.ReadInteger();
                        connection.SkipsAckReplies = connection.CanSkipReplies;
                    }
                    catch (RedisServerException e)
                    {
                        // The read's reply follows either way: read it to stay in step, then report.
                        ackFailed = e;
                    }
                }

                var entries = connection.Replies.ReadStreamEntries();
                if (ackFailed is not null)
                {
                    // Rare (the read on the same key went through): the entries stay pending for the reclaim.
                    throw ackFailed;
                }

                return entries;
            }
            catch (RedisServerException e) when (redirects < MaxRedirects && Redirect(e.Message, _endPoint) is { } target)
            {
                // A cluster node that does not serve the key's slot: read from the one that does, as the multiplexer
                // would. Nothing was read here, so nothing is left behind.
                Drop(connection);
                _endPoint = target;
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidDataException)
            {
                // The node may be gone (a failover): the next read connects to the slot's owner as known by then.
                Drop(connection);
                _endPoint = _locate();
                throw new RedisConnectionException(
                    ConnectionFailureType.SocketFailure, CommandFlags.None, $"The stream reader's connection failed: {e.Message}", e, CommandStatus.Sent);
            }
        }
    }

    /// <summary>
    /// Where a <c>MOVED slot host:port</c> or <c>ASK slot host:port</c> error sends the read (an empty host is the
    /// current one), or null for any other error.
    /// </summary>
    internal static EndPoint? Redirect(string error, EndPoint current)
    {
        if (error.Split(' ') is not ["MOVED" or "ASK", _, var address])
        {
            return null;
        }

        var colon = address.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            return null;
        }

        var host = address[..colon].Trim('[', ']');
        if (host.Length == 0)
        {
            return current switch
            {
                IPEndPoint ip => new IPEndPoint(ip.Address, port),
                DnsEndPoint dns => new DnsEndPoint(dns.Host, port),
                _ => null,
            };
        }

        return IPAddress.TryParse(host, out var ipAddress) ? new IPEndPoint(ipAddress, port) : new DnsEndPoint(host, port);
    }

    public ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            Drop(_connection);
            ReserveThread(-1);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Connects in blocking mode (an asynchronous connect would leave .NET emulating every blocking read through its
    /// epoll thread: the hand-off this reader exists to avoid), authenticates, names the client, selects the
    /// database and learns the client id, in one round trip.
    /// </summary>
    private async Task<Connection> ConnectAsync()
    {
        var endPoint = _endPoint;
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            // Connect (and the TLS handshake) block, so they run off the caller's thread and a stalled one is
            // abandoned at the timeout.
            var timeout = TimeSpan.FromMilliseconds(_options.ConnectTimeout);
            var connection = await Task.Run(() =>
            {
                socket.Connect(endPoint);
                return new Connection(socket, timeout, _options.Ssl ? network => Authenticate(network, endPoint) : null);
            }).WaitAsync(timeout);

            var (auth, select, length) = WriteHandshake();
            connection.Stream.Write(_command, 0, length);
            Interlocked.Exchange(ref _clientId, ReadHandshake(connection, auth, select));
            _connection = connection;
            return connection;
        }
        catch (RedisException)
        {
            socket.Dispose();
            _endPoint = _locate();
            throw;
        }
        catch (Exception e)
        {
            // A node a redirect named may be gone (a failover): the next attempt asks where the slot is served now.
            socket.Dispose();
            _endPoint = _locate();
            throw new RedisConnectionException(
                ConnectionFailureType.UnableToConnect, CommandFlags.None, $"The stream reader could not connect to {endPoint}: {e.Message}", e, CommandStatus.Unknown);
        }
    }

    /// <summary>
    /// Writes the handshake into the command buffer: <c>AUTH</c> when there is a password, <c>CLIENT SETNAME</c>,
    /// <c>SELECT</c> for a database other than 0, then <c>CLIENT REPLY SKIP</c>, a <c>PING</c> it silences and
    /// <c>CLIENT ID</c>: only the id comes back from a server that can skip a reply; one that cannot (or a user not
    /// allowed to) answers all three.
    /// </summary>
    private (bool Auth, bool Select, int Length) WriteHandshake()
    {
        EnsureCommandRoom((_options.User?.Length ?? 0) + (_options.Password?.Length ?? 0) + _clientName.Length);
        var auth = _options.Password is { Length: > 0 };
        var select = _options.DefaultDatabase is { } database and not 0;
        var command = new RespWriter(_command);
        if (auth)
        {
            var user = _options.User is { Length: > 0 } ? _options.User : null;
            command.Array(user is null ? 2 : 3);
            command.Bulk("AUTH");
            if (user is not null)
            {
                command.Bulk(user);
            }

            command.Bulk(_options.Password!);
        }

        command.Array(3);
        command.Bulk("CLIENT");
        command.Bulk("SETNAME");
        command.Bulk(_clientName.Replace(' ', '_'));
        if (select)
        {
            command.Array(2);
            command.Bulk("SELECT");
            command.Bulk(_options.DefaultDatabase!.Value);
        }

        command.SkipNextReply();
        command.Array(1);
        command.Bulk("PING");
        command.Array(2);
        command.Bulk("CLIENT");
        command.Bulk("ID");
        return (auth, select, command.Length);
    }

    /// <summary>Reads the handshake's replies; returns the client id, and notes whether the server skipped replies.</summary>
    private static long ReadHandshake(Connection connection, bool auth, bool select)
    {
        if (auth)
        {
            connection.Replies.ReadStatus();
        }

        try
        {
            connection.Replies.ReadStatus();
        }
        catch (RedisServerException)
        {
            // A name Redis refuses only makes CLIENT LIST less telling.
        }

        if (select)
        {
            connection.Replies.ReadStatus();
        }

        long? id = null;
        var answered = 0;
        for (; id is null; answered++)
        {
            if (answered == 3)
            {
                throw new InvalidDataException("CLIENT ID did not answer with an integer");
            }

            try
            {
                id = connection.Replies.ReadIntegerOrStatus();
            }
            catch (RedisServerException) when (answered < 2)
            {
                // CLIENT REPLY refused (or PING): the replies up to CLIENT ID's follow.
            }
        }

        connection.CanSkipReplies = answered == 1;
        return id.Value;
    }

    /// <summary>
    /// The TLS handshake, trusting and presenting what the multiplexer would: StackExchange.Redis's view of the
    /// configuration (<see cref="TlsOptions"/>) carries the host to verify, the protocols, the revocation check, the
    /// validation and selection callbacks (<c>TrustIssuer</c>, <c>SetUserPemCertificate</c>) and their ambient
    /// fallbacks (<c>SERedis_IssuerCertPath</c>, <c>SERedis_ClientCertPfxPath</c>). Blocking, like every read after it.
    /// </summary>
    private SslStream Authenticate(NetworkStream network, EndPoint endPoint)
    {
        // Marked for evaluation (SER009), but it is the library's own answer for a transport that does its TLS, and a
        // second copy of its trust rules here could drift from the multiplexer's. The pinned version and the TLS tests
        // (StreamReaderTests) catch a change.
#pragma warning disable SER009
        var tls = new TlsOptions(_options);
#pragma warning restore SER009
        var host = tls.ResolveHost(endPoint)
            ?? throw new AuthenticationException($"no TLS host name for {endPoint}: set sslHost in the connection string");
        var ssl = new SslStream(network, leaveInnerStreamOpen: false, tls.CertificateValidationCallback, tls.CertificateSelectionCallback);
        try
        {
            if (tls.GetSslClientAuthenticationOptions(host) is { } options)
            {
                ssl.AuthenticateAsClient(options);
            }
            else
            {
                ssl.AuthenticateAsClient(host, null, tls.SslProtocols ?? SslProtocols.None, tls.CheckCertificateRevocation);
            }

            return ssl;
        }
        catch
        {
            ssl.Dispose();
            throw;
        }
    }

    private void Drop(Connection? connection)
    {
        if (connection is not null)
        {
            Interlocked.CompareExchange(ref _connection, null, connection);
            Interlocked.Exchange(ref _clientId, -1);
            connection.Stream.Dispose();
        }
    }

    private static int AckChars(ReadOnlySpan<string> ids)
    {
        var chars = 0;
        foreach (var id in ids)
        {
            chars += id.Length;
        }

        return chars;
    }

    /// <summary>
    /// Room for commands whose text arguments have <paramref name="chars"/> characters in all, plus their framing
    /// (<paramref name="framing"/> bytes beyond the first 256).
    /// </summary>
    private void EnsureCommandRoom(int chars, int framing = 0)
    {
        var needed = 256 + framing + Encoding.UTF8.GetMaxByteCount(chars);
        if (_command.Length < needed)
        {
            _command = new byte[needed];
        }
    }

    /// <summary>
    /// A parked read holds its pool thread for up to the block time: each reader raises the pool's minimum by one, so
    /// an idle worker with several job types never waits for the pool to notice threads are missing.
    /// </summary>
    private static void ReserveThread(int delta)
    {
        lock (ReserveGate)
        {
            ThreadPool.GetMinThreads(out var workers, out var io);
            ThreadPool.SetMinThreads(Math.Max(1, workers + delta), io);
        }
    }

    /// <summary>Writes commands as RESP arrays of bulk strings (numbers in decimal) into a buffer with room for them.</summary>
    private ref struct RespWriter(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;

        /// <summary>Bytes written so far.</summary>
        public int Length { get; private set; }

        public void Array(int count) => Header('*', count);

        /// <summary><c>CLIENT REPLY SKIP</c>: no reply to it, nor to the command after it.</summary>
        public void SkipNextReply()
        {
            Array(3);
            Bulk("CLIENT");
            Bulk("REPLY");
            Bulk("SKIP");
        }

        public void Bulk(string text)
        {
            Header('$', Encoding.UTF8.GetByteCount(text));
            Length += Encoding.UTF8.GetBytes(text, _buffer[Length..]);
            End();
        }

        public void Bulk(long number)
        {
            Span<byte> digits = stackalloc byte[20];
            _ = Utf8Formatter.TryFormat(number, digits, out var written);
            Header('$', written);
            digits[..written].CopyTo(_buffer[Length..]);
            Length += written;
            End();
        }

        private void Header(char kind, int count)
        {
            _buffer[Length++] = (byte)kind;
            _ = Utf8Formatter.TryFormat(count, _buffer[Length..], out var written);
            Length += written;
            End();
        }

        private void End()
        {
            "\r\n"u8.CopyTo(_buffer[Length..]);
            Length += 2;
        }
    }

    /// <summary>One live connection: its socket, stream (plain or TLS, owning the socket) and reply reader go together.</summary>
    private sealed class Connection
    {
        private readonly Socket _socket;
        private TimeSpan _readTimeout = Timeout.InfiniteTimeSpan;

        /// <summary>
        /// Over a connected socket; <paramref name="secure"/>, when given, wraps the plain stream (the TLS handshake,
        /// which already reads under <paramref name="readTimeout"/>).
        /// </summary>
        public Connection(Socket socket, TimeSpan readTimeout, Func<NetworkStream, Stream>? secure)
        {
            _socket = socket;
            SetReadTimeout(readTimeout);
            var network = new NetworkStream(socket, ownsSocket: true) { WriteTimeout = (int)TimeoutSlack.TotalMilliseconds };
            Stream = secure is null ? network : secure(network);
            Replies = new RespReplyReader(Stream);
        }

        public Stream Stream { get; }

        public RespReplyReader Replies { get; }

        /// <summary>The server honours <c>CLIENT REPLY SKIP</c> for this client (learnt at connect).</summary>
        public bool CanSkipReplies { get; set; }

        /// <summary>
        /// An ack sent on this connection came back applied, and the server can skip replies: later acks go unanswered.
        /// </summary>
        public bool SkipsAckReplies { get; set; }

        /// <summary>Set only on a change: a drain's reads all share one timeout, a parked read another.</summary>
        public void SetReadTimeout(TimeSpan timeout)
        {
            if (timeout != _readTimeout)
            {
                _socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
                _readTimeout = timeout;
            }
        }
    }
}
