/*
 * session.c - a connection's session on the node, and its proxy process.
 *
 * The proxy is the shell's pid on the node. It always traps exits; what
 * it receives is, by shape:
 *
 *   {'$ax_node', Tag, Id, Req}   a request from the I/O thread: run here,
 *                                answered {reply, Id, Result}
 *   {'$ax_node', Tag, interrupt} an interrupt no request waited for: none
 *   {'EXIT', From, Reason}       forwarded as a message if the shell traps
 *                                exits; else normal is ignored (unless it
 *                                is its own), and any other reason ends
 *                                the proxy with that reason
 *   anything else                forwarded as {event, {message, Msg}}
 *
 * Tag is a random number only the I/O thread and the proxy know, so no
 * ordinary message is mistaken for a request.
 *
 * When a proxy dies (that exit, or kill), the exit hook records it here
 * and wakes the I/O thread, which answers the requests it had in flight,
 * starts a new proxy and sends {event, {shell_exit, Reason, NewPid}}.
 *
 * Lifetime: a session has a reference for its connection (the I/O
 * thread's) and one for each running proxy (dropped by the exit hook);
 * the last one frees it. `closed` (under the lock) stops all traffic to
 * the I/O thread, whose wake fd may be gone after it.
 */
#include "node.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "../sched/sched.h"
#include "frame.h"
#include "rates.h"

/* Requests one session may have in flight. */
#define INFLIGHT_MAX 64
/* Bytes of frames one session may have waiting for its client: past it
 * the client is too slow, and the session is closed. */
#define OUT_MAX ((size_t)256 << 20)
/* The proxy collects its heap when it holds more words than this. */
#define PROXY_GC_WORDS 65536

struct session {
    _Atomic(int) refs;
    pthread_mutex_t lock;
    int wake_fd;
    int64_t tag;                  /* written once, before any proxy */
    _Atomic(ax_term_t) proxy;     /* relaxed: a pid is an immediate */
    _Atomic(bool) trap;           /* relaxed: one flag, no other data */
    /* Under lock. */
    bool closed;
    bool overflow;
    struct out_frame *out_head;
    struct out_frame **out_tail;
    size_t out_bytes;
    uint8_t *death;               /* the dead proxy's reason (ETF) */
    size_t death_len;
    ax_term_t dead_pid;
    int64_t inflight[INFLIGHT_MAX];
    size_t ninflight;
    struct rates *rates;          /* its proxy's alone (rates.h) */
};

static void proxy_body(ax_term_t arg);

struct session *ax__session_new(int wake_fd, bool trap)
{
    struct session *s = calloc(1, sizeof(*s));
    uint64_t r = 0;

    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    pthread_mutex_init(&s->lock, NULL);
    s->wake_fd = wake_fd;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint64_t)(uintptr_t)s ^ ax__now_ns();
    s->tag = (int64_t)(r & (uint64_t)AX_SMALL_MAX);
    atomic_init(&s->proxy, AX_NONE);
    atomic_init(&s->trap, trap);
    s->out_tail = &s->out_head;
    return s;
}

static void session_unref(struct session *s)
{
    struct out_frame *f;

    /* acq_rel: the last holder sees every write of the others. */
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    while ((f = s->out_head)) {
        s->out_head = f->next;
        free(f);
    }
    free(s->death);
    ax__rates_free(s->rates);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

struct rates *ax__session_rates(struct session *s)
{
    if (!s->rates)
        s->rates = ax__rates_new();
    return s->rates;
}

/* With the lock held: tells the I/O thread there is work. */
static void wake_locked(struct session *s)
{
    uint64_t one = 1;

    if (!s->closed && write(s->wake_fd, &one, sizeof(one)) < 0) {
        /* A full eventfd counter still wakes the reader. */
    }
}

int ax__session_start(struct session *s, ax_term_t *pid)
{
    ax_spawn_opts_t o = {
        .body = proxy_body,
        .arg = ax_int(NULL, (int64_t)(uintptr_t)s),
        .flags = AX_SPAWN_TRAP_EXIT,
    };
    int err;

    /* The proxy's reference, taken before it can run and drop it. */
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    err = ax_spawn_opt(&o, pid, NULL);
    if (err) {
        session_unref(s);
        return err;
    }
    atomic_store_explicit(&s->proxy, *pid, memory_order_relaxed);
    return 0;
}

ax_term_t ax__session_proxy(struct session *s)
{
    return atomic_load_explicit(&s->proxy, memory_order_relaxed);
}

bool ax__session_set_trap(struct session *s, bool on)
{
    return atomic_exchange_explicit(&s->trap, on, memory_order_relaxed);
}

int ax__session_request(struct session *s, int64_t id, ax_term_t req)
{
    ax_heap_t *h;
    ax_term_t m;
    int err;

    pthread_mutex_lock(&s->lock);
    err = s->ninflight == INFLIGHT_MAX ? AX_ESYSLIMIT : 0;
    if (!err)
        s->inflight[s->ninflight++] = id;
    pthread_mutex_unlock(&s->lock);
    if (err)
        return err;
    h = ax_heap_new();
    m = h ? ax_tuple(h, 4, ax_atom("$ax_node"), ax_int(h, s->tag),
                     ax_int(h, id), req)
          : AX_NONE;
    /* A proxy that has just died drops it; its death answers the id. */
    err = m == AX_NONE ? AX_ENOMEM : ax_send(ax__session_proxy(s), m);
    ax_heap_free(h);
    return err == AX_EBADARG ? 0 : err;
}

void ax__session_interrupt(struct session *s)
{
    ax_heap_t *h = ax_heap_new();
    ax_term_t m = h ? ax_tuple(h, 3, ax_atom("$ax_node"), ax_int(h, s->tag),
                               ax_atom("interrupt"))
                    : AX_NONE;

    if (m != AX_NONE)
        ax_send(ax__session_proxy(s), m);
    ax_heap_free(h);
}

bool ax__session_is_interrupt(struct session *s, ax_term_t msg)
{
    int64_t tag;

    return ax_is_record(msg, ax_atom("$ax_node"), 3) &&
           ax_get_int(ax_tuple_get(msg, 1), &tag) == 0 && tag == s->tag &&
           ax_tuple_get(msg, 2) == ax_atom("interrupt");
}

/* With the lock held: forgets request id (answered). */
static void inflight_remove(struct session *s, int64_t id)
{
    for (size_t i = 0; i < s->ninflight; i++)
        if (s->inflight[i] == id) {
            s->inflight[i] = s->inflight[--s->ninflight];
            return;
        }
}

/* Queues an encoded frame; *id_done (if not NULL) is no longer in
 * flight. */
static void push_frame(struct session *s, struct out_frame *f,
                       const int64_t *id_done)
{
    pthread_mutex_lock(&s->lock);
    if (id_done)
        inflight_remove(s, *id_done);
    if (s->closed || s->overflow || s->out_bytes + f->len > OUT_MAX) {
        s->overflow = !s->closed;
        free(f);
        f = NULL;
    } else {
        *s->out_tail = f;
        s->out_tail = &f->next;
        s->out_bytes += f->len;
    }
    wake_locked(s);
    pthread_mutex_unlock(&s->lock);
}

/* An out_frame holding the frame of t; NULL on failure (*err says). */
static struct out_frame *frame_of(ax_term_t t, int *err)
{
    uint8_t *buf;
    size_t len;
    struct out_frame *f;

    *err = ax__frame_encode(t, &buf, &len);
    if (*err)
        return NULL;
    f = malloc(sizeof(*f) + len);
    if (f) {
        f->next = NULL;
        f->len = len;
        memcpy(f->data, buf, len);
    } else {
        *err = AX_ENOMEM;
    }
    free(buf);
    return f;
}

void ax__session_push(struct session *s, ax_term_t t)
{
    int err;
    struct out_frame *f = frame_of(t, &err);

    if (f)
        push_frame(s, f, NULL);
}

/* Queues {reply, Id, Result}; a result that cannot be sent (too big)
 * is replaced by {error, Why}. */
static void push_reply(struct session *s, ax_heap_t *h, int64_t id,
                       ax_term_t result)
{
    ax_term_t idt = ax_int(h, id);
    ax_term_t tag = ax_atom("reply");
    int err;
    struct out_frame *f = frame_of(ax_tuple(h, 3, tag, idt, result), &err);

    if (!f)
        f = frame_of(ax_tuple(h, 3, tag, idt, ax__request_error(h, err)),
                     &err);
    if (f)
        push_frame(s, f, &id);
}

struct out_frame *ax__session_take_out(struct session *s)
{
    struct out_frame *f;

    pthread_mutex_lock(&s->lock);
    f = s->out_head;
    s->out_head = NULL;
    s->out_tail = &s->out_head;
    s->out_bytes = 0;
    pthread_mutex_unlock(&s->lock);
    return f;
}

bool ax__session_overflowed(struct session *s)
{
    bool o;

    pthread_mutex_lock(&s->lock);
    o = s->overflow;
    pthread_mutex_unlock(&s->lock);
    return o;
}

bool ax__session_take_death(struct session *s, ax_heap_t *h,
                            ax_term_t *reason, ax_term_t *dead)
{
    int64_t ids[INFLIGHT_MAX];
    size_t n;
    uint8_t *etf;
    size_t len;
    ax_term_t err;

    pthread_mutex_lock(&s->lock);
    etf = s->death;
    len = s->death_len;
    *dead = s->dead_pid;
    s->death = NULL;
    n = etf ? s->ninflight : 0;
    memcpy(ids, s->inflight, n * sizeof(ids[0]));
    pthread_mutex_unlock(&s->lock);
    if (!etf)
        return false;
    if (ax_etf_decode(h, etf, len, reason, NULL) != 0)
        *reason = ax_atom("unknown");
    free(etf);
    err = ax_tuple(h, 2, ax_atom("error"),
                   ax_tuple(h, 2, ax_atom("shell_exit"), *reason));
    for (size_t i = 0; i < n; i++)
        push_reply(s, h, ids[i], err);
    return true;
}

void ax__session_close(struct session *s)
{
    ax_term_t pid;

    pthread_mutex_lock(&s->lock);
    s->closed = true;
    pthread_mutex_unlock(&s->lock);
    pid = ax__session_proxy(s);
    if (pid != AX_NONE)
        ax_exit_signal(pid, ax_atom("kill"));
    session_unref(s);
}

bool ax__session_is_closed_proxy(struct proc *p)
{
    struct session *s;
    int64_t addr;
    bool closed;

    if (p->kind != PK_BODY || p->fn.body != proxy_body ||
        ax_get_int(p->state_term, &addr) != 0)
        return false;
    s = (struct session *)(uintptr_t)addr; /* the proxy holds a reference */
    pthread_mutex_lock(&s->lock);
    closed = s->closed;
    pthread_mutex_unlock(&s->lock);
    return closed;
}

void ax__session_proc_exit(struct proc *p, ax_term_t reason)
{
    struct session *s;
    int64_t addr;
    uint8_t *etf = NULL;
    size_t len = 0;

    if (p->kind != PK_BODY || p->fn.body != proxy_body ||
        ax_get_int(p->state_term, &addr) != 0)
        return;
    s = (struct session *)(uintptr_t)addr;
    if (ax_etf_encode(reason, AX_ETF_UTF8_ATOMS, &etf, &len) != 0)
        etf = NULL;
    pthread_mutex_lock(&s->lock);
    atomic_store_explicit(&s->proxy, AX_NONE, memory_order_relaxed);
    if (!s->closed && etf) {
        free(s->death);
        s->death = etf;
        s->death_len = len;
        s->dead_pid = atomic_load(&p->pid);
        etf = NULL;
        wake_locked(s);
    }
    pthread_mutex_unlock(&s->lock);
    free(etf);
    session_unref(s);
}

/* --- The proxy ------------------------------------------------------------ */

static struct session *session_of(ax_term_t arg)
{
    int64_t addr = 0;

    ax_get_int(arg, &addr);
    return (struct session *)(uintptr_t)addr;
}

/* {'$ax_node', Tag, Id, Req} of this session: true, with *id and *req. */
static bool is_request(struct session *s, ax_term_t m, int64_t *id,
                       ax_term_t *req)
{
    int64_t tag;

    if (!ax_is_record(m, ax_atom("$ax_node"), 4) ||
        ax_get_int(ax_tuple_get(m, 1), &tag) != 0 || tag != s->tag ||
        ax_get_int(ax_tuple_get(m, 2), id) != 0)
        return false;
    *req = ax_tuple_get(m, 3);
    return true;
}

/* An exit signal the shell does not trap: as a process that does not
 * trap exits would take it. */
static void take_exit(ax_term_t from, ax_term_t reason)
{
    if (reason != ax_atom("normal") || from == ax_self())
        ax_exit(reason);
}

static void forward(struct session *s, ax_heap_t *h, ax_term_t m)
{
    ax__session_push(s, ax_tuple(h, 2, ax_atom("event"),
                                 ax_tuple(h, 2, ax_atom("message"), m)));
}

static void proxy_body(ax_term_t arg)
{
    struct session *s = session_of(arg);
    ax_heap_stats_t st;
    ax_term_t m;
    ax_term_t req;
    int64_t id;

    for (;;) {
        if (ax_receive(AX_ANY, AX_INFINITY, &m, NULL) != 0)
            continue;
        if (is_request(s, m, &id, &req))
            push_reply(s, ax_heap(), id, ax__request_run(s, req));
        else if (ax__session_is_interrupt(s, m))
            continue;
        else if (ax_is_record(m, ax_atom("EXIT"), 3) &&
                 !atomic_load_explicit(&s->trap, memory_order_relaxed))
            take_exit(ax_tuple_get(m, 1), ax_tuple_get(m, 2));
        else
            forward(s, ax_heap(), m);
        ax_heap_stats(ax_heap(), &st);
        if (st.heap_used + st.old_heap_used > PROXY_GC_WORDS)
            ax_gc(NULL, 0);
    }
}
