// The machine's floor for issue 13's small-request shape: what the kernel alone allows for
// N connections x 1 request in flight over loopback TCP, with a server that does nothing
// but echo a fixed reply. An epoll server (SERVER_THREADS threads, each its own epoll and
// its own share of the connections, read + write per request, TCP_NODELAY) and a client
// (CLIENT_THREADS threads, the same) in one process pair on 127.0.0.1; the request and
// reply sizes are Kamino's for one transfer (a 64-byte header + 128-byte body; a 64-byte
// header + 8-byte result). No disk, no ledger, no TLS: whatever Kamino does on top of this
// costs more, so its rate on this machine can only be below the floor.
// With MODE=uring both sides use io_uring instead (one ring per thread, a receive armed on
// every connection, each completion answered by a send and a new receive, one
// io_uring_enter per loop for all of them: no read/write/epoll_wait per request).
// Usage:
//   gcc -O2 -pthread Benchmarks/tcp-floor.c -luring -o /tmp/tcp-floor
//   [MODE=epoll|uring] /tmp/tcp-floor [connections=256] [seconds=10] [server_threads=2] [client_threads=2]
// PIPELINE=K (epoll only) keeps K requests in flight on each connection instead of 1, the
// best case of a pipelining client and server: each side reads what has arrived and
// answers every complete message in it with one write (the bank mix's shape is 16
// connections with 4 actions in flight each: PIPELINE=4 /tmp/tcp-floor 16).
// Prints requests/s and the CPU (user + system) each side spent per request.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <liburing.h>

enum { REQUEST = 192, REPLY = 72 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static void nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Reads exactly n bytes that epoll said are coming (blocking socket: the whole message
// arrives in one segment on loopback, so this is one read in practice).
static int read_all(int fd, char *buf, int n) {
    int got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0) return -1;
        got += (int)r;
    }
    return 0;
}

typedef struct { int epoll; int *fds; int count; int client; int pipeline; atomic_long *done; volatile int *stop; } loop;

enum { MAX_FD = 65536, MAX_PIPELINE = 64 };
// Bytes of a partly received message, per descriptor (pipelined mode).
static int partial[MAX_FD];

// One readable event in pipelined mode: read what has arrived, and answer every complete
// message in it (the client: send one new request per reply) with one write.
static int pipelined_turn(loop *l, int fd, long *local) {
    static __thread char buf[MAX_PIPELINE * REQUEST], out[MAX_PIPELINE * REQUEST];
    int in = l->client ? REPLY : REQUEST, reply = l->client ? REQUEST : REPLY;
    ssize_t r = read(fd, buf, (size_t)l->pipeline * in);
    if (r <= 0) return -1;
    int whole = (partial[fd] + (int)r) / in;
    partial[fd] = (partial[fd] + (int)r) % in;
    if (whole == 0) return 0;
    memset(out, l->client ? 1 : 2, (size_t)whole * reply);
    if (write(fd, out, (size_t)whole * reply) != (ssize_t)whole * reply) return -1;
    if (l->client) *local += whole;
    return 0;
}

static void *run_loop(void *arg) {
    loop *l = arg;
    char buf[4096], request[REQUEST], reply[REPLY];
    memset(request, 1, sizeof request);
    memset(reply, 2, sizeof reply);
    struct epoll_event events[256];
    if (l->client)
        for (int i = 0; i < l->count; i++)
            for (int k = 0; k < l->pipeline; k++)
                if (write(l->fds[i], request, REQUEST) != REQUEST) return NULL;
    long local = 0;
    while (!*l->stop) {
        int n = epoll_wait(l->epoll, events, 256, 100);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (l->pipeline > 1) {
                if (pipelined_turn(l, fd, &local) != 0) return NULL;
                continue;
            }
            if (l->client) {
                if (read_all(fd, buf, REPLY) != 0) return NULL;
                local++;
                if (write(fd, request, REQUEST) != REQUEST) return NULL;
            } else {
                if (read_all(fd, buf, REQUEST) != 0) return NULL;
                if (write(fd, reply, REPLY) != REPLY) return NULL;
            }
        }
        if (l->client && local >= 1024) { atomic_fetch_add(l->done, local); local = 0; }
    }
    if (l->client) atomic_fetch_add(l->done, local);
    return NULL;
}

// The io_uring loop: user_data is the connection's index, with the top bit set on sends
// (whose completions only confirm the bytes went out).
static void *run_uring(void *arg) {
    loop *l = arg;
    static const unsigned long send_flag = 1UL << 63;
    char request[REQUEST], reply[REPLY];
    memset(request, 1, sizeof request);
    memset(reply, 2, sizeof reply);
    char *buffers = malloc((size_t)l->count * 4096);
    struct io_uring ring;
    struct io_uring_params p = { .flags = getenv("URING_FLAGS") ? (unsigned)atoi(getenv("URING_FLAGS")) : IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN };
    if (io_uring_queue_init_params(4 * l->count + 64, &ring, &p) != 0) { perror("io_uring"); return NULL; }
    for (int i = 0; i < l->count; i++) {
        if (l->client) {
            struct io_uring_sqe *s = io_uring_get_sqe(&ring);
            io_uring_prep_send(s, l->fds[i], request, REQUEST, 0);
            io_uring_sqe_set_data64(s, send_flag | (unsigned long)i);
        }
        struct io_uring_sqe *r = io_uring_get_sqe(&ring);
        io_uring_prep_recv(r, l->fds[i], buffers + (size_t)i * 4096, 4096, 0);
        io_uring_sqe_set_data64(r, (unsigned long)i);
    }
    long local = 0;
    while (!*l->stop) {
        struct __kernel_timespec wait = { .tv_sec = 0, .tv_nsec = 100000000 };
        struct io_uring_cqe *cqe;
        io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &wait, NULL);
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            seen++;
            unsigned long data = io_uring_cqe_get_data64(cqe);
            if (data & send_flag) continue;
            if (cqe->res <= 0) { *l->stop = 1; break; }
            int i = (int)data;
            if (l->client) local++;
            struct io_uring_sqe *s = io_uring_get_sqe(&ring);
            if (l->client) io_uring_prep_send(s, l->fds[i], request, REQUEST, 0);
            else io_uring_prep_send(s, l->fds[i], reply, REPLY, 0);
            io_uring_sqe_set_data64(s, send_flag | (unsigned long)i);
            struct io_uring_sqe *r = io_uring_get_sqe(&ring);
            io_uring_prep_recv(r, l->fds[i], buffers + (size_t)i * 4096, 4096, 0);
            io_uring_sqe_set_data64(r, (unsigned long)i);
        }
        io_uring_cq_advance(&ring, seen);
        if (l->client && local >= 1024) { atomic_fetch_add(l->done, local); local = 0; }
    }
    if (l->client) atomic_fetch_add(l->done, local);
    return NULL;
}

static void start_loops(int *fds, int count, int threads, int client, atomic_long *done, volatile int *stop, pthread_t *out) {
    for (int t = 0; t < threads; t++) {
        loop *l = calloc(1, sizeof *l);
        l->epoll = epoll_create1(0);
        l->client = client;
        l->pipeline = getenv("PIPELINE") ? atoi(getenv("PIPELINE")) : 1;
        if (l->pipeline < 1 || l->pipeline > MAX_PIPELINE) { fprintf(stderr, "PIPELINE: 1...%d\n", MAX_PIPELINE); exit(2); }
        l->done = done;
        l->stop = stop;
        l->fds = malloc(sizeof(int) * count);
        for (int i = t; i < count; i += threads) {
            l->fds[l->count++] = fds[i];
            struct epoll_event e = { .events = EPOLLIN, .data.fd = fds[i] };
            epoll_ctl(l->epoll, EPOLL_CTL_ADD, fds[i], &e);
        }
        const char *mode = getenv("MODE");
        pthread_create(&out[t], NULL, mode && strcmp(mode, "uring") == 0 ? run_uring : run_loop, l);
    }
}

int main(int argc, char **argv) {
    int connections = argc > 1 ? atoi(argv[1]) : 256;
    int seconds = argc > 2 ? atoi(argv[2]) : 10;
    int server_threads = argc > 3 ? atoi(argv[3]) : 2;
    int client_threads = argc > 4 ? atoi(argv[4]) : 2;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (bind(listener, (struct sockaddr *)&a, sizeof a) != 0 || listen(listener, 4096) != 0) { perror("listen"); return 1; }
    getsockname(listener, (struct sockaddr *)&a, &len);
    int marks[2], result[2];  // client -> server: window start and end; server -> client: its CPU
    if (pipe(marks) != 0 || pipe(result) != 0) return 1;
    pid_t server = fork();
    if (server == 0) {
        int *fds = malloc(sizeof(int) * connections);
        for (int i = 0; i < connections; i++) { fds[i] = accept(listener, NULL, NULL); nodelay(fds[i]); }
        static volatile int stop = 0;
        static atomic_long unused;
        pthread_t threads[64];
        double c0;
        start_loops(fds, connections, server_threads, 0, &unused, &stop, threads);
        double cpu;
        if (read(marks[0], &cpu, sizeof cpu) != sizeof cpu) return 1;  // the client's window start
        c0 = cpu_seconds();
        if (read(marks[0], &cpu, sizeof cpu) != sizeof cpu) return 1;  // its end
        double used = cpu_seconds() - c0;
        if (write(result[1], &used, sizeof used) != sizeof used) return 1;
        _exit(0);
    }
    int *fds = malloc(sizeof(int) * connections);
    for (int i = 0; i < connections; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fds[i], (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 1; }
        nodelay(fds[i]);
    }
    static volatile int stop = 0;
    static atomic_long done;
    pthread_t threads[64];
    start_loops(fds, connections, client_threads, 1, &done, &stop, threads);
    sleep(2);  // warm-up
    double mark = 0;
    long d0 = atomic_load(&done);
    double t0 = now(), c0 = cpu_seconds();
    if (write(marks[1], &mark, sizeof mark) != sizeof mark) return 1;
    sleep(seconds);
    long d1 = atomic_load(&done);
    double t1 = now(), c1 = cpu_seconds();
    if (write(marks[1], &mark, sizeof mark) != sizeof mark) return 1;
    double server_cpu = 0;
    if (read(result[0], &server_cpu, sizeof server_cpu) != sizeof server_cpu) return 1;
    stop = 1;
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
    double rate = (d1 - d0) / (t1 - t0);
    printf("%s: connections %d x %s in flight, server threads %d, client threads %d: %.0f requests/s, CPU per request client %.2f us, server %.2f us\n",
           getenv("MODE") ? getenv("MODE") : "epoll", connections, getenv("PIPELINE") ? getenv("PIPELINE") : "1", server_threads, client_threads, rate, (c1 - c0) / (d1 - d0) * 1e6, server_cpu / (d1 - d0) * 1e6);
    return 0;
}
