// The least pickup latency any Redis queue can show on this machine: an open-loop producer thread sends
// XADD at RATE per second, stamping each entry with CLOCK_MONOTONIC just before the send, and a second thread
// parked in XREADGROUP ... BLOCK on its own connection stamps each entry as its reply arrives. Plain blocking
// sockets, no client library, no runtime, no thread pool: a pickup is the two wake-ups no queue can avoid
// (Redis woken by the XADD, the reader woken by Redis's reply). What a worker adds is the difference.
//
//   redis_floor PORT RATE SECONDS     prints one line (JSON when BENCH_JSON=1), as Worker.Bench's latency lines
//   redis_floor PORT RATE SECONDS STREAM TYPE
//                                     the producer alone, as a backend's client would send: XADD STREAM * type TYPE
//                                     payload {"t":STAMP}; the worker under test stamps the handler's start
//                                     (Worker.Bench latency-external)
//
// Built and run by bench/run (cc -O2 -pthread). RESP2 only: a fresh connection speaks RESP2 until HELLO 3.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static long total;
static double *latency_ms;
static long received;
static char stream[64];

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void fail(const char *what)
{
    fprintf(stderr, "redis_floor: %s: %s\n", what, errno ? strerror(errno) : "unexpected reply");
    exit(1);
}

// One connection with a read buffer that replies are parsed from in place.
typedef struct {
    int fd;
    char buf[1 << 16];
    size_t len, pos;
} conn;

static void dial(conn *c)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int one = 1;
    c->len = c->pos = 0;
    if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        fail("connect");
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void send_command(conn *c, int argc, const char **argv)
{
    char out[512];
    int n = snprintf(out, sizeof out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++)
        n += snprintf(out + n, sizeof out - n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    if (send(c->fd, out, n, 0) != n)
        fail("send");
}

// Blocks until at least one more byte is buffered.
static void fill(conn *c)
{
    if (c->pos == c->len)
        c->len = c->pos = 0;
    else if (c->len == sizeof c->buf) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n <= 0)
        fail("recv");
    c->len += n;
}

// The next CRLF-terminated line, without its CRLF (valid until the next fill).
static char *read_line(conn *c)
{
    for (;;) {
        char *cr = memchr(c->buf + c->pos, '\r', c->len - c->pos);
        if (cr && cr + 1 < c->buf + c->len) {
            char *line = c->buf + c->pos;
            *cr = '\0';
            c->pos = cr + 2 - c->buf;
            return line;
        }
        fill(c);
    }
}

// Walks one reply; every bulk string after a bulk "t" is a producer's stamp, recorded against `arrived`.
static void read_reply(conn *c, long long arrived, int *after_t)
{
    char *line = read_line(c);
    long n = atol(line + 1);
    if (line[0] == '-')
        fail(line);
    if (line[0] == '*') {
        for (long i = 0; i < n; i++)
            read_reply(c, arrived, after_t);
        return;
    }
    if (line[0] != '$' || n < 0)
        return;
    while (c->len - c->pos < (size_t)n + 2)
        fill(c);
    char *value = c->buf + c->pos;
    c->pos += n + 2;
    if (*after_t) {
        *after_t = 0;
        if (received < total)
            latency_ms[received++] = (arrived - atoll(value)) / 1e6;
    } else if (n == 1 && value[0] == 't')
        *after_t = 1;
}

static volatile int reader_ready;

static void *reader(void *unused)
{
    (void)unused;
    conn *c = calloc(1, sizeof *c);
    dial(c);
    const char *create[] = { "XGROUP", "CREATE", stream, "floor", "$", "MKSTREAM" };
    send_command(c, 6, create);
    if (read_line(c)[0] != '+')
        fail("XGROUP CREATE");
    reader_ready = 1;
    const char *read[] = { "XREADGROUP", "GROUP", "floor", "c", "COUNT", "10", "BLOCK", "1000", "STREAMS", stream, ">" };
    while (received < total) {
        send_command(c, 11, read);
        if (c->pos == c->len)
            fill(c);
        int after_t = 0;
        read_reply(c, now_ns(), &after_t);
    }
    return NULL;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 6) {
        fprintf(stderr, "usage: redis_floor PORT RATE SECONDS [STREAM TYPE]\n");
        return 2;
    }
    port = atoi(argv[1]);
    long rate = atol(argv[2]), seconds = atol(argv[3]);
    int produce_only = argc == 6;
    total = rate * seconds;
    latency_ms = calloc(total, sizeof *latency_ms);
    if (produce_only)
        snprintf(stream, sizeof stream, "%s", argv[4]);
    else
        snprintf(stream, sizeof stream, "bench:floor-c:%d", (int)getpid());

    pthread_t thread;
    if (!produce_only) {
        pthread_create(&thread, NULL, reader, NULL);
        while (!reader_ready)
            usleep(1000);
        usleep(100000); // the reader's first XREADGROUP is parked by now
    }

    conn *producer = calloc(1, sizeof *producer);
    dial(producer);
    long long start = now_ns();
    for (long i = 0; i < total; i++) {
        long long due = start + i * 1000000000LL / rate;
        struct timespec at = { due / 1000000000LL, due % 1000000000LL };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR) {
        }
        char stamp[48];
        if (produce_only) {
            snprintf(stamp, sizeof stamp, "{\"t\":%lld}", now_ns());
            const char *add[] = { "XADD", stream, "*", "type", argv[5], "payload", stamp };
            send_command(producer, 7, add);
        } else {
            snprintf(stamp, sizeof stamp, "%lld", now_ns());
            const char *add[] = { "XADD", stream, "*", "t", stamp };
            send_command(producer, 5, add);
        }
        if (read_line(producer)[0] != '$')
            fail("XADD");
        read_line(producer); // the entry id
    }
    if (produce_only)
        return 0;
    pthread_join(thread, NULL);
    const char *del[] = { "DEL", stream };
    send_command(producer, 2, del);
    read_line(producer);

    qsort(latency_ms, total, sizeof *latency_ms, by_value);
    double p50 = latency_ms[total / 2], p99 = latency_ms[total * 99 / 100], max = latency_ms[total - 1];
    const char *json = getenv("BENCH_JSON");
    if (json && strcmp(json, "1") == 0)
        printf("{\"scenario\":\"latency_floor_c\",\"n\":%ld,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n", total, p50, p99, max);
    else
        printf("latency_floor_c rate=%ld/s for %ld s: n=%ld p50 %.3f ms, p99 %.3f ms, max %.3f ms (XADD to a bare blocking reader in C)\n",
               rate, seconds, total, p50, p99, max);
    return 0;
}
