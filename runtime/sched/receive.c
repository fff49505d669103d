/*
 * receive.c - selective receive, pattern matching, and timers (receive
 * ... after, sleep, send_after).
 *
 * A receive scans the process's private queue from where it can first
 * match: from the start, or - when the pattern names the reference the
 * process made last - from the queue's end at the time it made it (the
 * BEAM's receive marker: a reply to a fresh request cannot be older than
 * the request). A blocked receive resumes its scan where it stopped.
 *
 * A receive timeout is a record on the scheduler's timer wheel; firing it
 * sends the process a SIG_WAKE stamped with the receive's number, so a
 * late one is recognised and ignored. The record is shared by the wheel
 * and the process (a reference count), because the process may have moved
 * to another scheduler, whose thread must not touch this wheel.
 */
#include "sched.h"

#include <stdlib.h>
#include <time.h>

#include "../core/alloc.h"
#include "../proc/registry.h"
#include "../term/atom.h"
#include "../term/tstack.h"

enum trec_kind { TR_TIMEOUT, TR_SEND };

struct trec {
    struct timer t;
    _Atomic(int) refs;
    uint8_t kind;       /* enum trec_kind */
    uint32_t sched;     /* whose wheel holds it */
    ax_term_t to;       /* pid (TIMEOUT), pid or name (SEND) */
    uint64_t id;        /* the wait number, or the timer's reference */
    struct msg *msg;    /* SEND: the message */
    uint64_t len_ms;    /* SEND: the length asked for */
    struct trec *hnext; /* SEND: in the table of cancellable timers */
};

#define TTAB_SIZE 256
static struct trec *ttab[TTAB_SIZE];
static pthread_mutex_t ttab_lock = PTHREAD_MUTEX_INITIALIZER;

/* --- The queue ------------------------------------------------------------- */

void ax__queue_unlink(struct proc *p, struct msg **link)
{
    struct msg *m = *link;

    *link = m->qnext;
    if (p->queue_tail == &m->qnext)
        p->queue_tail = link;
    if (p->marker == &m->qnext)
        p->marker = link;
    p->queue_len--;
}

/* --- Matching ---------------------------------------------------------------- */

static bool is_var(ax_term_t t)
{
    return (t & 0xFF) == 0x2F;
}

/* Matches one pair; pushes sub-pairs. */
static bool match_step(struct tstack *s, ax_term_t pat, ax_term_t t,
                       ax_term_t *binds, uint32_t *bound)
{
    if (pat == AX_ANY)
        return true;
    if (is_var(pat)) {
        unsigned v = (unsigned)(pat >> 8) % AX_VARS_MAX;

        if (*bound & (1u << v))
            return ax_equal_exact(binds[v], t);
        binds[v] = t;
        *bound |= 1u << v;
        return true;
    }
    if (ax_is_tuple(pat)) {
        if (!ax_is_tuple(t) || tuple_arity(t) != tuple_arity(pat))
            return false;
        for (size_t i = 0; i < tuple_arity(pat); i++)
            if (!tstack_push(s, tuple_elems(pat)[i]) ||
                !tstack_push(s, tuple_elems(t)[i]))
                return false;
        return true;
    }
    if (term_is_cons(pat)) {
        return term_is_cons(t) && tstack_push(s, ax_head(pat)) &&
               tstack_push(s, ax_head(t)) && tstack_push(s, ax_tail(pat)) &&
               tstack_push(s, ax_tail(t));
    }
    if (ax_is_map(pat)) {
        /* A map pattern matches a map holding at least its keys. */
        if (!ax_is_map(t))
            return false;
        for (size_t i = 0; i < map_count(pat); i++) {
            ax_term_t v = ax_map_get(t, map_keys(pat)[i]);

            if (v == AX_NONE || !tstack_push(s, map_vals(pat)[i]) ||
                !tstack_push(s, v))
                return false;
        }
        return true;
    }
    return ax_equal_exact(pat, t);
}

bool ax_match(ax_term_t pattern, ax_term_t term, ax_term_t *bindings)
{
    struct tstack s;
    ax_term_t binds[AX_VARS_MAX];
    uint32_t bound = 0;
    bool ok = true;

    tstack_init(&s);
    tstack_push(&s, pattern);
    tstack_push(&s, term);
    while (ok && !tstack_empty(&s)) {
        ax_term_t t = tstack_pop(&s);
        ax_term_t pat = tstack_pop(&s);

        ok = match_step(&s, pat, t, binds, &bound);
    }
    tstack_destroy(&s);
    if (ok && bindings)
        for (unsigned v = 0; v < AX_VARS_MAX; v++)
            if (bound & (1u << v))
                bindings[v] = binds[v];
    return ok;
}

/* --- Timers -------------------------------------------------------------------- */

/* Spare records a scheduler keeps: a call's timeout costs no malloc. */
#define TREC_CACHE_MAX 256

static void trec_unref(struct trec *r)
{
    struct sched *s;

    /* acq_rel: the last owner sees the other's last use. */
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
        return;
    ax__msg_free(r->msg);
    s = ax__sched_self();
    if (!s || s->trec_cached >= TREC_CACHE_MAX) {
        ax__free(r);
        return;
    }
    r->hnext = s->trec_cache;
    s->trec_cache = r;
    s->trec_cached++;
}

static struct trec *trec_alloc(struct sched *s)
{
    struct trec *r = s->trec_cache;

    if (!r)
        return ax__malloc(sizeof(*r));
    s->trec_cache = r->hnext;
    s->trec_cached--;
    return r;
}

void ax__timers_flush_cache(struct sched *s)
{
    struct trec *r;

    while ((r = s->trec_cache)) {
        s->trec_cache = r->hnext;
        ax__free(r);
    }
    s->trec_cached = 0;
}

/* Timeouts this long or longer read the coarse clock (a few ns, not
 * twenty) and add its resolution, so they fire no earlier than asked
 * and at most a tick later. */
#define COARSE_FROM_MS 1000

static uint64_t deadline_ms(int64_t ms)
{
    static _Atomic(uint64_t) tick_ms; /* the coarse clock's resolution */
    struct timespec ts;
    uint64_t tick = atomic_load_explicit(&tick_ms, memory_order_relaxed);

    if (ms < COARSE_FROM_MS)
        return ax__now_ms() + (uint64_t)ms;
    if (!tick) {
        clock_getres(CLOCK_MONOTONIC_COARSE, &ts);
        tick = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1;
        atomic_store_explicit(&tick_ms, tick, memory_order_relaxed);
    }
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 +
           tick + (uint64_t)ms;
}

static struct trec *trec_new(struct sched *s, enum trec_kind kind,
                             ax_term_t to, uint64_t id, int64_t ms)
{
    struct trec *r = trec_alloc(s);

    if (!r)
        return NULL;
    memset(r, 0, sizeof(*r));
    atomic_init(&r->refs, 1);
    r->kind = (uint8_t)kind;
    r->sched = s->id;
    r->to = to;
    r->id = id;
    ax__timer_init(&r->t);
    ax__wheel_add(&s->wheel, &r->t, deadline_ms(ms));
    return r;
}

void ax__timeout_clear(struct proc *p)
{
    struct trec *r = p->timeout;
    struct sched *s = ax__sched_self();

    if (!r)
        return;
    p->timeout = NULL;
    if (s && r->sched == s->id && ax__timer_is_armed(&r->t)) {
        ax__wheel_cancel(&s->wheel, &r->t);
        trec_unref(r); /* the wheel's reference */
    }
    trec_unref(r);
}

static int arm_timeout(struct proc *p, int64_t ms)
{
    struct trec *r = trec_new(ax__sched_self(), TR_TIMEOUT,
                              atomic_load(&p->pid), p->wait_seq, ms);

    if (!r)
        return AX_ENOMEM;
    atomic_fetch_add(&r->refs, 1); /* one for the wheel, one for p */
    p->timeout = r;
    return 0;
}

/* With ttab_lock held: removes the SEND record of id; NULL if absent. */
static struct trec *ttab_take(uint64_t id)
{
    for (struct trec **l = &ttab[id % TTAB_SIZE]; *l; l = &(*l)->hnext) {
        if ((*l)->id == id) {
            struct trec *r = *l;

            *l = r->hnext;
            return r;
        }
    }
    return NULL;
}

static void fire_send(struct trec *r)
{
    bool live;
    ax_term_t pid;
    struct proc *p;

    pthread_mutex_lock(&ttab_lock);
    live = ttab_take(r->id) == r;
    pthread_mutex_unlock(&ttab_lock);
    pid = term_is_atom(r->to) ? ax__registry_lookup(r->to) : r->to;
    p = live && term_is_pid(pid) ? ax__ptab_lookup(pid) : NULL;
    if (p) {
        r->msg->to = pid;
        ax__deliver(p, r->msg);
        r->msg = NULL;
    }
    trec_unref(r);
}

void ax__timers_poll(struct sched *s, uint64_t now_ms)
{
    struct timer *t;

    ax__wheel_advance(&s->wheel, now_ms, &t);
    while (t) {
        struct trec *r = (struct trec *)((char *)t -
                                         offsetof(struct trec, t));

        t = t->next;
        if (r->kind == TR_SEND) {
            fire_send(r);
        } else {
            ax__send_signal(r->to, SIG_WAKE, AX_NONE, AX_NIL, r->id);
            trec_unref(r);
        }
    }
}

void ax__timers_drop(struct sched *s)
{
    struct timer *t;

    ax__wheel_advance(&s->wheel, UINT64_MAX, &t);
    while (t) {
        struct trec *r = (struct trec *)((char *)t -
                                         offsetof(struct trec, t));

        t = t->next;
        if (r->kind == TR_SEND) {
            pthread_mutex_lock(&ttab_lock);
            ttab_take(r->id);
            pthread_mutex_unlock(&ttab_lock);
        }
        trec_unref(r);
    }
}

int ax_send_after(int64_t ms, ax_term_t to, ax_term_t msg, ax_term_t *tref)
{
    struct proc *p = ax__proc_self();
    uint64_t id = ax__new_ref_number();
    ax_heap_t *h;
    struct trec *r;

    if (!p)
        return AX_ENOTPROC;
    if (ms < 0 || (!term_is_pid(to) && !term_is_atom(to)))
        return AX_EBADARG;
    h = ax__proc_heap(p);
    if (!h || (*tref = ax__ref_term(h, id)) == AX_NONE)
        return AX_ENOMEM;
    r = trec_new(ax__sched_self(), TR_SEND, to, id, ms);
    if (!r)
        return AX_ENOMEM;
    r->len_ms = (uint64_t)ms;
    r->msg = ax__msg_new(SIG_MESSAGE, AX_NONE, atomic_load(&p->pid), msg);
    if (!r->msg) {
        ax__wheel_cancel(&ax__sched_self()->wheel, &r->t);
        trec_unref(r);
        return AX_ENOMEM;
    }
    pthread_mutex_lock(&ttab_lock);
    r->hnext = ttab[id % TTAB_SIZE];
    ttab[id % TTAB_SIZE] = r;
    pthread_mutex_unlock(&ttab_lock);
    return 0;
}

int ax_cancel_timer(ax_term_t tref, int64_t *left_ms)
{
    uint64_t id = ref_local_number(tref);
    struct trec *r;
    int64_t left = -1;

    pthread_mutex_lock(&ttab_lock);
    r = id ? ttab_take(id) : NULL;
    if (r) {
        uint64_t now = ax__now_ms();

        left = r->t.deadline > now ? (int64_t)(r->t.deadline - now) : 0;
        if ((uint64_t)left > r->len_ms) /* a coarse deadline's margin */
            left = (int64_t)r->len_ms;
    }
    pthread_mutex_unlock(&ttab_lock);
    if (left_ms)
        *left_ms = left;
    return r ? 0 : AX_EBADARG;
}

/* --- Receiving -------------------------------------------------------------------- */

struct matcher {
    ax_match_fn fn;
    void *arg;
    ax_term_t pattern;
    uint64_t ref;             /* a reference every match names, or 0 */
    ax_term_t binds[AX_VARS_MAX];
};

static bool pattern_match(ax_term_t msg, void *arg)
{
    struct matcher *m = arg;

    return ax_match(m->pattern, msg, m->binds);
}

/* Where the scan starts: after the marker if the pattern is a tuple
 * naming the marked reference. */
static struct msg **scan_start(struct proc *p, const struct matcher *m)
{
    ax_term_t pat = m->pattern;

    if (!p->marker_ref)
        return &p->queue;
    if (m->ref)
        return m->ref == p->marker_ref ? p->marker : &p->queue;
    if (m->fn != pattern_match || !ax_is_tuple(pat))
        return &p->queue;
    for (size_t i = 0; i < tuple_arity(pat); i++)
        if (ref_local_number(tuple_elems(pat)[i]) == p->marker_ref)
            return p->marker;
    return &p->queue;
}

static int receive(struct matcher *mt, int64_t timeout, ax_term_t *out)
{
    struct proc *p = ax__proc_self();
    struct msg **link;
    int err = 0;

    if (!p)
        return AX_ENOTPROC;
    link = scan_start(p, mt);
    p->wait_seq++;
    p->timed_out = false;
    p->flags |= PF_RECEIVING;
    for (;;) {
        for (; *link; link = &(*link)->qnext)
            if (mt->fn((*link)->term, mt->arg))
                goto found;
        if (ax__proc_drain(p))
            continue;
        if (p->timed_out || timeout == 0)
            break;
        if (timeout > 0 && !p->timeout && (err = arm_timeout(p, timeout)))
            break;
        ax__sched_leave(p, OUT_WAIT, true);
    }
    ax__timeout_clear(p);
    p->flags &= (uint8_t)~PF_RECEIVING;
    return err ? err : AX_ETIMEOUT;
found:
    ax__timeout_clear(p);
    p->flags &= (uint8_t)~PF_RECEIVING;
    p->marker_ref = 0;
    {
        struct msg *m = *link;
        ax_heap_t *h = ax__proc_heap(p);

        if (!h)
            ax__proc_exit(p, make_atom(ATOM_IDX_OOM));
        ax__queue_unlink(p, link);
        *out = ax__msg_take(m, h);
        if (p->kind == PK_BODY) /* a handler's is the one it handles */
            p->last_msg = *out;
    }
    ax__charge(1);
    return 0;
}

int ax_receive(ax_term_t pattern, int64_t timeout_ms, ax_term_t *msg,
               ax_term_t *bindings)
{
    struct matcher mt = {pattern_match, NULL, pattern, 0, {0}};
    int err;

    mt.arg = &mt;
    err = receive(&mt, timeout_ms, msg);
    if (!err && bindings)
        memcpy(bindings, mt.binds, sizeof(mt.binds));
    return err;
}

int ax_receive_fn(ax_match_fn match, void *arg, int64_t timeout_ms,
                  ax_term_t *msg)
{
    struct matcher mt = {match, arg, AX_NONE, 0, {0}};

    return receive(&mt, timeout_ms, msg);
}

int ax__receive_ref(uint64_t ref, ax_match_fn match, void *arg,
                    int64_t timeout_ms, ax_term_t *msg)
{
    struct matcher mt = {match, arg, AX_NONE, ref, {0}};

    return receive(&mt, timeout_ms, msg);
}

static bool match_nothing(ax_term_t msg, void *arg)
{
    (void)msg;
    (void)arg;
    return false;
}

int ax_sleep(int64_t ms)
{
    ax_term_t unused;
    int err = ax_receive_fn(match_nothing, NULL, ms < 0 ? 0 : ms, &unused);

    return err == AX_ETIMEOUT ? 0 : err;
}

/* --- Scheduling from a process ------------------------------------------------------ */

void ax_yield(void)
{
    struct proc *p = ax__proc_self();

    if (!p)
        return;
    ax__sched_leave(p, OUT_YIELD, true);
    ax__proc_drain(p);
}

void ax_consume_reductions(unsigned n)
{
    ax__charge(n);
}

int ax_gc(ax_term_t *roots, size_t n)
{
    struct proc *p = ax__proc_self();
    struct sched *s = ax__sched_self();
    int err;

    if (!p)
        return AX_ENOTPROC;
    if (!p->heap)
        return 0;
    err = ax__proc_gc(p, roots, n, AX_GC_AUTO);
    if (!err)
        sched_count(&s->gcs, 1);
    return err;
}
