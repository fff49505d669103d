/*
 * client.c - the client side of the control socket (ax.h "The control
 * socket"): what the shell and the observer use to attach to a node.
 *
 * A client has one reader (the thread in ax_client_request or
 * ax_client_next_event); frames are written whole under a lock, so
 * ax_client_interrupt may come from another thread. Events that arrive
 * while a request waits are kept as their encoded bodies, in order, and
 * decoded only when asked for (onto the caller's heap then). A reply
 * for a request nobody waits for any more (it timed out) is dropped.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../sched/sched.h"
#include "../term/etf.h"
#include "frame.h"
#include "node.h"

#define HELLO_TIMEOUT_MS 5000

struct event {
    struct event *next;
    size_t len;
    uint8_t body[];
};

struct ax_client {
    int fd;
    pthread_mutex_t wlock;
    struct frame_reader rd;
    uint8_t in[65536];
    size_t in_off;
    size_t in_len;
    char node[NODE_NAME_MAX + 1];
    ax_term_t shell;
    int64_t next_id;
    struct event *ev_head;
    struct event **ev_tail;
    bool broken;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes t as one frame. */
static int write_term(ax_client_t *c, ax_term_t t)
{
    uint8_t *buf;
    size_t len;
    size_t off = 0;
    int err = ax__frame_encode(t, &buf, &len);

    if (err)
        return err;
    pthread_mutex_lock(&c->wlock);
    while (off < len && !err) {
        ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);

        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno != EINTR)
            err = AX_ENOCONN;
    }
    pthread_mutex_unlock(&c->wlock);
    free(buf);
    return err;
}

/* Fills c->in, waiting until the deadline (-1: none). */
static int fill(ax_client_t *c, int64_t deadline)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int64_t left = deadline < 0 ? -1 : deadline - now_ms();
    ssize_t n;

    if (deadline >= 0 && left < 0)
        left = 0;
    n = poll(&p, 1, (int)(left > 86400000 ? 86400000 : left));
    if (n < 0)
        return errno == EINTR ? 0 : AX_ENOCONN;
    if (n == 0)
        return AX_ETIMEOUT;
    n = recv(c->fd, c->in, sizeof(c->in), 0);
    if (n <= 0) {
        if (n < 0 && errno == EINTR)
            return 0;
        c->broken = true;
        return AX_ENOCONN;
    }
    c->in_off = 0;
    c->in_len = (size_t)n;
    return 0;
}

/* The next frame's body (the caller frees it). */
static int read_frame(ax_client_t *c, int64_t deadline, uint8_t **body,
                      size_t *len)
{
    for (;;) {
        size_t used;
        int r;

        if (c->broken)
            return AX_ENOCONN;
        if (c->in_off == c->in_len) {
            r = fill(c, deadline);
            if (r)
                return r;
            continue;
        }
        r = ax__frame_feed(&c->rd, c->in + c->in_off, c->in_len - c->in_off,
                           &used);
        c->in_off += used;
        if (r < 0) {
            c->broken = true;
            return AX_EPROTO;
        }
        if (r == 1) {
            ax__frame_take(&c->rd, body, len);
            return 0;
        }
    }
}

static void keep_event(ax_client_t *c, uint8_t *body, size_t len)
{
    struct event *e = malloc(sizeof(*e) + len);

    if (e) {
        e->next = NULL;
        e->len = len;
        memcpy(e->body, body, len);
        *c->ev_tail = e;
        c->ev_tail = &e->next;
    }
}

static int64_t deadline_of(int64_t timeout_ms)
{
    return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/*
 * Reads frames until one that is not an event: *out gets it on h (and
 * events are kept). With want_event, returns at the first event instead
 * (its term on h), after any kept ones.
 */
static int next_frame(ax_client_t *c, ax_heap_t *h, int64_t deadline,
                      ax_term_t *out, bool want_event)
{
    for (;;) {
        ax_heap_t *scratch;
        uint8_t *body;
        size_t len;
        ax_term_t t;
        int err = read_frame(c, deadline, &body, &len);

        if (err)
            return err;
        scratch = ax_heap_new();
        if (!scratch) {
            free(body);
            return AX_ENOMEM;
        }
        err = ax__frame_decode(scratch, body, len, &t);
        if (!err && ax_is_record(t, ax_atom("event"), 2) && !want_event) {
            keep_event(c, body, len);
        } else if (!err) {
            *out = ax_copy(h, t);
            err = *out == AX_NONE ? AX_ENOMEM : 0;
            ax_heap_free(scratch);
            free(body);
            return err;
        }
        ax_heap_free(scratch);
        free(body);
        if (err)
            return err;
    }
}

int ax_client_request(ax_client_t *c, ax_heap_t *h, ax_term_t req,
                      int64_t timeout_ms, ax_term_t *result)
{
    int64_t deadline = deadline_of(timeout_ms);
    int64_t id = c->next_id++;
    ax_heap_t *tmp = ax_heap_new();
    ax_term_t frame = tmp ? ax_tuple(tmp, 3, ax_atom("req"), ax_int(tmp, id),
                                     req)
                          : AX_NONE;
    int err = frame == AX_NONE ? AX_ENOMEM : write_term(c, frame);

    ax_heap_free(tmp);
    while (!err) {
        ax_term_t t;
        int64_t got;

        err = next_frame(c, h, deadline, &t, false);
        if (err)
            break;
        if (!ax_is_record(t, ax_atom("reply"), 3) ||
            ax_get_int(ax_tuple_get(t, 1), &got) != 0) {
            c->broken = true;
            return AX_EPROTO;
        }
        if (got == id) {
            *result = ax_tuple_get(t, 2);
            return 0;
        }
        /* A late reply to a request that timed out: dropped. */
    }
    return err;
}

/* Notes a new shell pid from a shell_exit event. */
static void note_event(ax_client_t *c, ax_term_t ev)
{
    ax_term_t e = ax_tuple_get(ev, 1);

    if (ax_is_record(e, ax_atom("shell_exit"), 3) &&
        ax_is_pid(ax_tuple_get(e, 2)))
        c->shell = ax_tuple_get(e, 2);
}

int ax_client_next_event(ax_client_t *c, ax_heap_t *h, int64_t timeout_ms,
                         ax_term_t *ev)
{
    struct event *e = c->ev_head;
    ax_term_t t;
    int err;

    if (e) {
        c->ev_head = e->next;
        if (!c->ev_head)
            c->ev_tail = &c->ev_head;
        err = ax__frame_decode(h, e->body, e->len, &t);
        free(e);
    } else {
        err = next_frame(c, h, deadline_of(timeout_ms), &t, true);
        if (!err && !ax_is_record(t, ax_atom("event"), 2))
            err = AX_EPROTO; /* a reply nobody asked for */
    }
    if (err)
        return err;
    note_event(c, t);
    *ev = ax_tuple_get(t, 1);
    return 0;
}

int ax_client_interrupt(ax_client_t *c)
{
    ax_heap_t *h = ax_heap_new();
    ax_term_t t = h ? ax_tuple(h, 1, ax_atom("interrupt")) : AX_NONE;
    int err = t == AX_NONE ? AX_ENOMEM : write_term(c, t);

    ax_heap_free(h);
    return err;
}

int ax_client_fd(const ax_client_t *c)
{
    return c->fd;
}

const char *ax_client_node(const ax_client_t *c)
{
    return c->node;
}

ax_term_t ax_client_shell(const ax_client_t *c)
{
    return c->shell;
}

void ax_client_close(ax_client_t *c)
{
    struct event *e;

    if (!c)
        return;
    while ((e = c->ev_head)) {
        c->ev_head = e->next;
        free(e);
    }
    ax__frame_reader_destroy(&c->rd);
    if (c->fd >= 0)
        close(c->fd);
    pthread_mutex_destroy(&c->wlock);
    free(c);
}

/* --- Connecting ------------------------------------------------------------ */

static int socket_of(const char *node, char *path, size_t size)
{
    char dir[4096];
    int err;

    if (strchr(node, '/'))
        return (size_t)snprintf(path, size, "%s", node) < size &&
                       strlen(node) < 108
                   ? 0
                   : AX_ERANGE;
    err = ax_node_socket_dir(dir, sizeof(dir), false);
    return err ? AX_ENOCONN : ax__node_socket_path(dir, node, path, size);
}

static int dial(const char *path, int *fd)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};

    *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fd < 0)
        return AX_ENOMEM;
    memcpy(a.sun_path, path, strlen(path) + 1);
    if (connect(*fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(*fd);
        *fd = -1;
        return AX_ENOCONN;
    }
    return 0;
}

/*
 * A program that runs no node of its own takes the name of the node it
 * attaches to for the External Term Format: that node's pids then read
 * as local ones, <0.N.S>, as in a shell on the node itself, and a pid
 * typed in the client means a process of the node. Returns pid (the
 * node's shell) as it reads from now on.
 */
static ax_term_t adopt_node(ax_term_t pid)
{
    char text[NODE_NAME_MAX + 1];
    ax_term_t name;
    uint32_t creation;
    size_t len = 0;
    const char *s;

    if (atomic_load(&ax__node.running) || pid_node(pid) == 0 ||
        !ax__etf_node(pid_node(pid), &name, &creation) ||
        !(s = ax_atom_text(name, &len)) || len > NODE_NAME_MAX)
        return pid;
    memcpy(text, s, len);
    text[len] = '\0';
    if (ax_etf_set_node_name(text, creation) != 0)
        return pid;
    return make_pid(0, pid_number(pid), pid_serial(pid));
}

/* Sends the hello and reads the welcome. */
static int greet(ax_client_t *c, const char *cookie, ax_term_t opts)
{
    ax_heap_t *h = ax_heap_new();
    ax_term_t t;
    size_t len = 0;
    const char *name;
    int err;

    if (!h)
        return AX_ENOMEM;
    t = ax_tuple(h, 4, ax_atom("hello"), ax_int(h, AX_PROTOCOL_VERSION),
                 ax_string(h, cookie), opts == AX_NONE ? ax_map_new(h) : opts);
    err = t == AX_NONE ? AX_ENOMEM : write_term(c, t);
    if (!err)
        err = next_frame(c, h, deadline_of(HELLO_TIMEOUT_MS), &t, false);
    if (!err && ax_is_record(t, ax_atom("error"), 2))
        err = ax_tuple_get(t, 1) == ax_atom("refused") ? AX_EREFUSED
                                                        : AX_EPROTO;
    else if (!err && (!ax_is_record(t, ax_atom("welcome"), 4) ||
                      !(name = ax_atom_text(ax_tuple_get(t, 2), &len)) ||
                      len > NODE_NAME_MAX || !ax_is_pid(ax_tuple_get(t, 3))))
        err = AX_EPROTO;
    if (!err) {
        memcpy(c->node, name, len);
        c->node[len] = '\0';
        c->shell = adopt_node(ax_tuple_get(t, 3));
    }
    ax_heap_free(h);
    return err == AX_ETIMEOUT ? AX_ENOCONN : err;
}

int ax_client_connect(const char *node, const char *cookie, ax_term_t opts,
                      ax_client_t **out)
{
    char path[108];
    char ours[COOKIE_MAX + 1];
    ax_client_t *c;
    int err;

    *out = NULL;
    if (!node || !node[0])
        return AX_EINVAL;
    err = socket_of(node, path, sizeof(path));
    if (!err)
        err = ax__node_cookie(cookie, ours, sizeof(ours));
    if (err)
        return err;
    c = calloc(1, sizeof(*c));
    if (!c)
        return AX_ENOMEM;
    pthread_mutex_init(&c->wlock, NULL);
    ax__frame_reader_init(&c->rd);
    c->ev_tail = &c->ev_head;
    err = dial(path, &c->fd);
    if (!err)
        err = greet(c, ours, opts);
    if (err) {
        ax_client_close(c);
        return err;
    }
    *out = c;
    return 0;
}
