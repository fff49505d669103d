/*
 * listen.c - the node's control socket and the one I/O thread that
 * serves it: poll() over the listening socket, the connections, and an
 * eventfd that sessions write when they have frames to send or their
 * proxy died. No scheduler ever blocks on a socket: a proxy only queues
 * encoded frames (session.c).
 *
 * A connection is first checked by SO_PEERCRED (same uid), then its
 * first frame must be {hello, Version, Cookie, Opts} with our version and
 * cookie. Whatever goes wrong with a connection (refused, a malformed,
 * oversized or truncated frame, a peer gone mid-frame) is answered with
 * an error frame if the socket still takes one, said in one line on
 * stderr, and the connection is closed; the node and the other
 * connections go on.
 */
#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../core/thread.h"
#include "../sched/sched.h"
#include "frame.h"

#define CONNS_MAX 256
#define READ_CHUNK 65536

struct conn {
    int fd;
    struct frame_reader rd;
    struct out_frame *wq;      /* frames to write, oldest first */
    struct out_frame **wq_tail;
    size_t woff;               /* bytes of wq's first frame written */
    struct session *s;         /* NULL until the hello */
    bool closing;              /* close once wq is written */
    bool dead;                 /* close now */
};

static struct listener {
    int lfd;
    int wake_fd;
    pthread_t thread;
    _Atomic(bool) stop;        /* relaxed: the eventfd write orders it */
    _Atomic(bool) halt;        /* likewise */
    char name[NODE_NAME_MAX + 1];
    char path[108];
    char cookie[COOKIE_MAX + 1];
    struct conn *conns[CONNS_MAX];
    size_t nconns;
} L = {.lfd = -1, .wake_fd = -1};

/* Set while the I/O thread runs; read by ax_node_name from any thread
 * (acquire: the name is written before). */
static _Atomic(bool) listening;

static void wake(void)
{
    uint64_t one = 1;

    if (write(L.wake_fd, &one, sizeof(one)) < 0) {
        /* A full counter wakes the thread just as well. */
    }
}

void ax__node_halt_async(void)
{
    atomic_store_explicit(&L.halt, true, memory_order_relaxed);
    wake();
}

const char *ax_node_name(void)
{
    return atomic_load_explicit(&listening, memory_order_acquire) ? L.name
                                                                  : NULL;
}

/* --- Output ---------------------------------------------------------------- */

static void queue(struct conn *c, struct out_frame *f)
{
    while (f) {
        struct out_frame *next = f->next;

        f->next = NULL;
        *c->wq_tail = f;
        c->wq_tail = &f->next;
        f = next;
    }
}

/* Queues frame t for c; with close, c is closed once it is written. */
static void send_term(struct conn *c, ax_term_t t, bool close)
{
    uint8_t *buf;
    size_t len;
    struct out_frame *f;

    c->closing |= close;
    if (ax__frame_encode(t, &buf, &len) != 0)
        return;
    f = malloc(sizeof(*f) + len);
    if (f) {
        f->next = NULL;
        f->len = len;
        memcpy(f->data, buf, len);
        queue(c, f);
    }
    free(buf);
}

/* Refuses c with {error, Why}: said once on stderr, then closed. */
static void refuse(struct conn *c, ax_heap_t *h, const char *why,
                   const char *detail)
{
    fprintf(stderr, "ax: node %s: connection refused: %s\n", L.name,
            detail ? detail : why);
    send_term(c, ax_tuple(h, 2, ax_atom("error"), ax_atom(why)), true);
}

static void write_some(struct conn *c)
{
    while (c->wq) {
        struct out_frame *f = c->wq;
        ssize_t n = send(c->fd, f->data + c->woff, f->len - c->woff,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                c->dead = true;
            return;
        }
        c->woff += (size_t)n;
        if (c->woff < f->len)
            return;
        c->wq = f->next;
        if (!c->wq)
            c->wq_tail = &c->wq;
        c->woff = 0;
        free(f);
    }
    if (c->closing)
        c->dead = true;
}

/* --- Input ----------------------------------------------------------------- */

static void hello(struct conn *c, ax_heap_t *h, ax_term_t t)
{
    ax_term_t cookie = ax_tuple_get(t, 2);
    ax_term_t opts = ax_tuple_get(t, 3);
    ax_term_t trap = ax_is_map(opts) ? ax_map_get(opts, ax_atom("trap_exit"))
                                     : AX_NONE;
    int64_t vsn = -1;
    const uint8_t *data;
    size_t len = 0;
    ax_term_t pid;

    if (!ax_is_record(t, ax_atom("hello"), 4) || !ax_is_map(opts))
        return refuse(c, h, "badhello", "no hello");
    if (ax_get_int(ax_tuple_get(t, 1), &vsn) || vsn != AX_PROTOCOL_VERSION)
        return refuse(c, h, "badversion", "another protocol version");
    data = ax_binary_data(cookie, &len);
    if (!data || !ax__node_cookie_eq(L.cookie, data, len))
        return refuse(c, h, "refused", "wrong cookie");
    c->s = ax__session_new(L.wake_fd, trap != AX_NONE && ax_is_true(trap));
    if (!c->s || ax__session_start(c->s, &pid) != 0)
        return refuse(c, h, "system_limit", "cannot start a session");
    send_term(c, ax_tuple(h, 4, ax_atom("welcome"),
                          ax_int(h, AX_PROTOCOL_VERSION), ax_atom(L.name),
                          pid),
              false);
}

/* One whole frame from c. */
static void handle_frame(struct conn *c, const uint8_t *body, size_t len)
{
    ax_heap_t *h = ax_heap_new();
    ax_term_t t;
    int64_t id;
    int err;

    if (!h) {
        c->dead = true;
        return;
    }
    err = ax__frame_decode(h, body, len, &t);
    if (err)
        refuse(c, h, "badframe", "a malformed frame");
    else if (!c->s)
        hello(c, h, t);
    else if (ax_is_record(t, ax_atom("req"), 3) &&
             ax_get_int(ax_tuple_get(t, 1), &id) == 0 && id >= 0) {
        err = ax__session_request(c->s, id, ax_tuple_get(t, 2));
        if (err)
            send_term(c, ax_tuple(h, 3, ax_atom("reply"), ax_tuple_get(t, 1),
                                  ax__request_error(h, err)),
                      false);
    } else if (ax_is_record(t, ax_atom("interrupt"), 1))
        ax__session_interrupt(c->s);
    else
        refuse(c, h, "badframe", "a frame that is not a request");
    ax_heap_free(h);
}

static void read_some(struct conn *c)
{
    uint8_t buf[READ_CHUNK];
    ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
    size_t off = 0;

    if (n < 0) {
        c->dead = errno != EAGAIN && errno != EINTR;
        return;
    }
    if (n == 0) {
        if (ax__frame_reader_partial(&c->rd))
            fprintf(stderr, "ax: node %s: a client went away mid-frame\n",
                    L.name);
        c->dead = true;
        return;
    }
    while (off < (size_t)n && !c->closing) {
        size_t used;
        int r = ax__frame_feed(&c->rd, buf + off, (size_t)n - off, &used);
        uint8_t *body;
        size_t len;

        off += used;
        if (r < 0) {
            ax_heap_t *h = ax_heap_new();

            if (h)
                refuse(c, h, "badframe", "an oversized or empty frame");
            else
                c->dead = true;
            ax_heap_free(h);
            return;
        }
        if (r == 0)
            continue;
        ax__frame_take(&c->rd, &body, &len);
        handle_frame(c, body, len);
        free(body);
    }
}

/* --- Connections ------------------------------------------------------------ */

static void conn_free(struct conn *c)
{
    struct out_frame *f;

    if (c->s)
        ax__session_close(c->s);
    while ((f = c->wq)) {
        c->wq = f->next;
        free(f);
    }
    ax__frame_reader_destroy(&c->rd);
    close(c->fd);
    free(c);
}

static void accept_one(ax_heap_t *h)
{
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    int fd = accept4(L.lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    struct conn *c;

    if (fd < 0)
        return;
    c = calloc(1, sizeof(*c));
    if (!c || L.nconns == CONNS_MAX) {
        free(c);
        close(fd);
        fprintf(stderr, "ax: node %s: connection refused: too many\n",
                L.name);
        return;
    }
    c->fd = fd;
    c->wq_tail = &c->wq;
    ax__frame_reader_init(&c->rd);
    L.conns[L.nconns++] = c;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
        cred.uid != geteuid())
        refuse(c, h, "refused", "another user");
}

/* Moves what c's session has for the client to c, restarting a proxy
 * that died. */
static void pump(struct conn *c, ax_heap_t *h)
{
    ax_term_t reason;
    ax_term_t dead;
    ax_term_t pid;

    if (!c->s)
        return;
    if (ax__session_take_death(c->s, h, &reason, &dead)) {
        if (ax__session_start(c->s, &pid) != 0) {
            fprintf(stderr, "ax: node %s: cannot restart a shell\n", L.name);
            c->dead = true;
        } else {
            ax__session_push(c->s, ax_tuple(h, 2, ax_atom("event"),
                             ax_tuple(h, 3, ax_atom("shell_exit"), reason,
                                      pid)));
        }
    }
    queue(c, ax__session_take_out(c->s));
    if (ax__session_overflowed(c->s)) {
        fprintf(stderr, "ax: node %s: a client too slow to read: closed\n",
                L.name);
        c->dead = true;
    }
}

/* Polls once and serves what is ready. */
static void serve_once(struct pollfd *pfd)
{
    ax_heap_t *h = ax_heap_new();
    size_t n = L.nconns;
    size_t k = 0;

    pfd[0] = (struct pollfd){.fd = L.lfd, .events = POLLIN};
    pfd[1] = (struct pollfd){.fd = L.wake_fd, .events = POLLIN};
    for (size_t i = 0; i < n; i++)
        pfd[2 + i] = (struct pollfd){
            .fd = L.conns[i]->fd,
            .events = (short)((L.conns[i]->closing ? 0 : POLLIN) |
                              (L.conns[i]->wq ? POLLOUT : 0))};
    if (!h || poll(pfd, n + 2, -1) < 0) {
        ax_heap_free(h);
        return;
    }
    if (pfd[1].revents & POLLIN) {
        uint64_t v;

        if (read(L.wake_fd, &v, sizeof(v)) < 0) {
            /* Nothing was pending. */
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct conn *c = L.conns[i];

        if (pfd[2 + i].revents & (POLLIN | POLLHUP | POLLERR))
            read_some(c);
        pump(c, h);
        write_some(c);
    }
    if (pfd[0].revents & POLLIN)
        accept_one(h);
    for (size_t i = 0; i < L.nconns; i++) {
        if (L.conns[i]->dead)
            conn_free(L.conns[i]);
        else
            L.conns[k++] = L.conns[i];
    }
    L.nconns = k;
    ax_heap_free(h);
}

static bool all_written(void)
{
    for (size_t i = 0; i < L.nconns; i++)
        if (L.conns[i]->wq)
            return false;
    return true;
}

static void *io_main(void *arg)
{
    struct pollfd pfd[CONNS_MAX + 2];

    (void)arg;
    ax__name_thread(pthread_self(), "ax-listen");
    while (!atomic_load_explicit(&L.stop, memory_order_relaxed)) {
        serve_once(pfd);
        /* halt: once its reply is out, as a SIGTERM (ax run stops the
         * node cleanly on it). */
        if (atomic_load_explicit(&L.halt, memory_order_relaxed) &&
            all_written()) {
            atomic_store_explicit(&L.halt, false, memory_order_relaxed);
            kill(getpid(), SIGTERM);
        }
    }
    for (size_t i = 0; i < L.nconns; i++)
        conn_free(L.conns[i]);
    L.nconns = 0;
    return NULL;
}

/* --- Starting and stopping ------------------------------------------------ */

/* Removes a socket nobody answers on; AX_EINUSE if a node does. */
static int clear_stale(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int r;

    if (fd < 0)
        return AX_ENOMEM;
    memcpy(a.sun_path, path, strlen(path) + 1);
    r = connect(fd, (struct sockaddr *)&a, sizeof(a));
    close(fd);
    if (r == 0)
        return AX_EINUSE;
    if (errno == ECONNREFUSED)
        unlink(path);
    return 0;
}

/*
 * The listening socket at path. It is bound and listening under a
 * temporary name first, then linked to path, which fails if path exists:
 * so a node never takes a live node's socket, even one that is between
 * its bind and its listen, and a stale one is replaced.
 */
static int open_socket(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int err = AX_EINUSE;

    if (fd < 0)
        return AX_ENOMEM;
    if (snprintf(a.sun_path, sizeof(a.sun_path), "%s.%ld", path,
                 (long)getpid()) >= (int)sizeof(a.sun_path)) {
        err = AX_EINVAL; /* too long a path for a socket */
        goto out_close;
    }
    unlink(a.sun_path);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        chmod(a.sun_path, 0600) != 0 || listen(fd, 64) != 0) {
        fprintf(stderr, "ax: %s: %s\n", path, strerror(errno));
        err = AX_EINVAL;
        goto out_unlink;
    }
    for (int tries = 0; tries < 3; tries++) {
        if (link(a.sun_path, path) == 0) {
            unlink(a.sun_path);
            return fd;
        }
        if (errno != EEXIST) {
            fprintf(stderr, "ax: %s: %s\n", path, strerror(errno));
            err = AX_EINVAL;
            break;
        }
        if (clear_stale(path) == AX_EINUSE)
            break; /* a node of that name runs */
    }
out_unlink:
    unlink(a.sun_path);
out_close:
    close(fd);
    return err;
}

/* Makes the I/O thread with every signal blocked: they are the
 * program's to take. */
static int start_thread(void)
{
    sigset_t all;
    sigset_t old;
    int r;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(&L.thread, NULL, io_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return r ? AX_ENOMEM : 0;
}

int ax_node_listen(const ax_listen_opts_t *opts)
{
    char dir[4096];
    uint32_t creation = 1;
    int err;

    if (!atomic_load(&ax__node.running) || atomic_load(&listening) ||
        ax__sched_self())
        return AX_ESTATE;
    if (!opts || !ax__node_name_ok(opts->name))
        return AX_EINVAL;
    if (opts->dir)
        err = (size_t)snprintf(dir, sizeof(dir), "%s", opts->dir) >=
                      sizeof(dir)
                  ? AX_ERANGE
                  : ax__node_dir_check(dir);
    else
        err = ax_node_socket_dir(dir, sizeof(dir), true);
    if (!err)
        err = ax__node_cookie(opts->cookie, L.cookie, sizeof(L.cookie));
    if (!err)
        err = ax__node_socket_path(dir, opts->name, L.path, sizeof(L.path));
    if (err)
        return err;
    snprintf(L.name, sizeof(L.name), "%s", opts->name);
    L.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (L.wake_fd < 0)
        return AX_ENOMEM;
    L.lfd = open_socket(L.path);
    if (L.lfd < 0) {
        close(L.wake_fd);
        return L.lfd;
    }
    if (getrandom(&creation, sizeof(creation), 0) != sizeof(creation) ||
        creation == 0)
        creation = 1;
    ax_etf_set_node_name(L.name, creation);
    atomic_store(&L.stop, false);
    atomic_store(&L.halt, false);
    err = start_thread();
    if (err) {
        close(L.lfd);
        close(L.wake_fd);
        unlink(L.path);
        return err;
    }
    atomic_store_explicit(&listening, true, memory_order_release);
    return 0;
}

void ax__node_unlisten(void)
{
    if (!atomic_load(&listening))
        return;
    atomic_store_explicit(&L.stop, true, memory_order_relaxed);
    wake();
    pthread_join(L.thread, NULL);
    atomic_store_explicit(&listening, false, memory_order_release);
    unlink(L.path);
    close(L.lfd);
    close(L.wake_fd);
    L.lfd = L.wake_fd = -1;
    ax_etf_set_node_name("nonode@nohost", 0);
}
