/*
 * sched.c - scheduler threads: run queues, stealing, sleeping, running a
 * process, and starting and stopping the node (sched.h).
 *
 * Where a woken process goes: into the waker's scheduler's runnext slot,
 * pushing what was there to its ring, so a ping-pong pair stays on one
 * core (Go's runnext). An idle scheduler is woken only when a ring holds
 * work beyond runnext, or the global list has some, so an exchange
 * between two processes never pays for a futex wake.
 *
 * Sleeping: an idle scheduler advertises itself (sleeping, nsleeping),
 * looks once more for work, then waits on its futex word; a producer
 * that queued work fences, then wakes one advertised sleeper. The fence
 * pairs with the sleeper's read-modify-write, so one of them sees the
 * other.
 */
#include "sched.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../core/alloc.h"
#include "../core/assert.h"
#include "../core/hash.h"
#include "../core/thread.h"
#include "../core/tls.h"
#include "../crash/log.h"
#include "../proc/registry.h"
#include "../term/atom.h"
#include "preempt.h"

#define STACKS_KEPT 64           /* stacks a scheduler's pool keeps */
#define TIMER_POLL_EVERY 16      /* activations between clock reads */
#define PREEMPTED_POLL_EVERY 16  /* picks between clock reads while a
                                  * preempted process waits */

struct node ax__node = {
    .global_lock = PTHREAD_MUTEX_INITIALIZER,
    .wait_lock = PTHREAD_MUTEX_INITIALIZER,
    .wait_cond = PTHREAD_COND_INITIALIZER,
};

AX_TLS struct sched *ax__tls_sched;

void (*ax__sched_on_thread)(struct sched *s, bool starting);

uint64_t ax__now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ax__now_ms(void)
{
    return ax__now_ns() / 1000000u;
}

static uint64_t next_random(uint64_t *state)
{
    *state += UINT64_C(0x9e3779b97f4a7c15);
    return ax__hash_mix(*state);
}

/* --- Run queues ------------------------------------------------------------ */

/* The owner appends p; false if the ring is full. */
static bool ring_put(struct sched *s, struct proc *p)
{
    uint32_t t = atomic_load_explicit(&s->rq_tail, memory_order_relaxed);
    uint32_t h = atomic_load_explicit(&s->rq_head, memory_order_acquire);

    if (t - h >= RQ_SIZE)
        return false;
    atomic_store_explicit(&s->rq[t % RQ_SIZE], p, memory_order_relaxed);
    /* release: a thief that sees the new tail sees the slot. */
    atomic_store_explicit(&s->rq_tail, t + 1, memory_order_release);
    return true;
}

/* The owner takes the oldest; thieves may race for it (CAS on head). */
static struct proc *ring_get(struct sched *s)
{
    uint32_t h = atomic_load_explicit(&s->rq_head, memory_order_acquire);

    for (;;) {
        uint32_t t = atomic_load_explicit(&s->rq_tail, memory_order_relaxed);
        struct proc *p;

        if (h == t)
            return NULL;
        p = atomic_load_explicit(&s->rq[h % RQ_SIZE], memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(&s->rq_head, &h, h + 1,
                                                  memory_order_acq_rel,
                                                  memory_order_acquire))
            return p;
    }
}

static uint32_t ring_len(struct sched *s)
{
    return atomic_load_explicit(&s->rq_tail, memory_order_acquire) -
           atomic_load_explicit(&s->rq_head, memory_order_acquire);
}

/* Moves about half of victim's ring to thief's; returns one of them. */
static struct proc *ring_steal(struct sched *thief, struct sched *victim)
{
    for (;;) {
        uint32_t h = atomic_load_explicit(&victim->rq_head,
                                          memory_order_acquire);
        uint32_t t = atomic_load_explicit(&victim->rq_tail,
                                          memory_order_acquire);
        uint32_t n = t - h;
        uint32_t tt = atomic_load_explicit(&thief->rq_tail,
                                           memory_order_relaxed);

        n -= n / 2;
        if (n == 0)
            return NULL;
        if (n > RQ_SIZE / 2)
            continue; /* inconsistent snapshot: retry */
        for (uint32_t i = 0; i < n; i++) {
            struct proc *p = atomic_load_explicit(
                &victim->rq[(h + i) % RQ_SIZE], memory_order_relaxed);

            atomic_store_explicit(&thief->rq[(tt + i) % RQ_SIZE], p,
                                  memory_order_relaxed);
        }
        if (!atomic_compare_exchange_strong_explicit(
                &victim->rq_head, &h, h + n, memory_order_acq_rel,
                memory_order_acquire))
            continue;
        sched_count(&thief->steals, 1);
        tt += n - 1;
        if (n > 1)
            atomic_store_explicit(&thief->rq_tail, tt, memory_order_release);
        return atomic_load_explicit(&thief->rq[tt % RQ_SIZE],
                                    memory_order_relaxed);
    }
}

static void global_put(struct proc *p)
{
    struct node *n = &ax__node;

    p->run_next = NULL;
    pthread_mutex_lock(&n->global_lock);
    if (n->global_tail)
        n->global_tail->run_next = p;
    else
        n->global_head = p;
    n->global_tail = p;
    atomic_fetch_add_explicit(&n->global_len, 1, memory_order_relaxed);
    pthread_mutex_unlock(&n->global_lock);
}

/* Takes one process from the global list, and a batch more into s's
 * ring. */
static struct proc *global_get(struct sched *s)
{
    struct node *n = &ax__node;
    struct proc *first;

    if (atomic_load_explicit(&n->global_len, memory_order_relaxed) == 0)
        return NULL;
    pthread_mutex_lock(&n->global_lock);
    first = n->global_head;
    if (first) {
        struct proc *p = first->run_next;
        size_t taken = 1;

        while (p && taken < RQ_SIZE / 2 && ring_put(s, p)) {
            p = p->run_next;
            taken++;
        }
        n->global_head = p;
        if (!p)
            n->global_tail = NULL;
        atomic_fetch_sub_explicit(&n->global_len, taken,
                                  memory_order_relaxed);
    }
    pthread_mutex_unlock(&n->global_lock);
    return first;
}

static long futex(_Atomic(uint32_t) *addr, int op, uint32_t val,
                  const struct timespec *timeout)
{
    return syscall(SYS_futex, addr, op, val, timeout, NULL, 0);
}

/* Wakes one sleeping scheduler, if any sleeps. */
static void wake_one(void)
{
    struct node *n = &ax__node;

    /* seq_cst: orders the caller's queueing before the load (see top). */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&n->nsleeping, memory_order_relaxed) == 0)
        return;
    for (unsigned i = 0; i < n->nscheds; i++) {
        struct sched *t = &n->scheds[i];
        uint32_t zero = 0;

        if (atomic_load_explicit(&t->sleeping, memory_order_relaxed) &&
            atomic_compare_exchange_strong(&t->wake_word, &zero, 1)) {
            futex(&t->wake_word, FUTEX_WAKE_PRIVATE, 1, NULL);
            return;
        }
    }
}

/* wake_one from a thread that is no scheduler (the crash log's writer,
 * a thread of the program): the node may be stopping meanwhile, and
 * ax__sched_stop waits for it before it frees the schedulers. seq_cst:
 * either this sees `stopping`, or the stopper sees outside_wakers. */
static void wake_from_outside(void)
{
    struct node *n = &ax__node;

    atomic_fetch_add(&n->outside_wakers, 1);
    if (atomic_load(&n->running) && !atomic_load(&n->stopping))
        wake_one();
    atomic_fetch_sub(&n->outside_wakers, 1);
}

void ax__sched_wake_idle(void)
{
    if (ax__sched_self())
        wake_one();
    else
        wake_from_outside();
}

bool ax__sched_spare_core(void)
{
    static _Atomic int cpus;
    struct node *n = &ax__node;
    int c = atomic_load_explicit(&cpus, memory_order_relaxed);

    if (!c) {
        cpu_set_t set;

        if (sched_getaffinity(0, sizeof(set), &set) == 0)
            c = CPU_COUNT(&set);
        if (c <= 0)
            c = (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (c <= 0)
            c = 1;
        atomic_store_explicit(&cpus, c, memory_order_relaxed);
    }
    /* `running` is stored after nscheds is set: read it first. */
    return !atomic_load(&n->running) || atomic_load(&n->stopping) ||
           n->nscheds < (unsigned)c;
}

void ax__sched_enqueue(struct proc *p, bool next)
{
    struct sched *s = ax__sched_self();
    struct proc *old;

    if (!s) {
        global_put(p);
        wake_from_outside();
        return;
    }
    if (next && !ax__node.seed) {
        old = s->runnext;
        s->runnext = p;
        if (!old)
            return; /* nothing another scheduler could run in parallel */
        p = old;
    }
    if (!ring_put(s, p))
        global_put(p);
    wake_one();
}

void ax__sched_wake(struct proc *p)
{
    atomic_store_explicit(&p->state, PS_RUNNABLE, memory_order_relaxed);
    /* It will likely run next, here: start fetching the rest of it. */
    for (size_t off = 64; off < sizeof(*p); off += 64)
        __builtin_prefetch((char *)p + off);
    ax__sched_enqueue(p, true);
}

void ax__deliver(struct proc *p, struct msg *m)
{
    ax__flush(); /* what the sender sent before goes first */
    if (ax__mailbox_push(&p->mbox, m))
        ax__sched_wake(p);
}

/* Deterministic mode: the next process is a random one of the ring. */
static struct proc *pick_random(struct sched *s)
{
    uint32_t h = atomic_load_explicit(&s->rq_head, memory_order_relaxed);
    uint32_t n = ring_len(s);
    uint32_t i;
    struct proc *tmp;

    if (n > 1) {
        i = (uint32_t)(next_random(&s->rng) % n);
        tmp = atomic_load(&s->rq[h % RQ_SIZE]);
        atomic_store(&s->rq[h % RQ_SIZE], atomic_load(&s->rq[(h + i) %
                                                             RQ_SIZE]));
        atomic_store(&s->rq[(h + i) % RQ_SIZE], tmp);
    }
    return ring_get(s);
}

/* The head of s's preempted list, if it is due (or `now`). Each is due a
 * slice time after it was preempted or the one before it was taken:
 * the others get as much time as it had. */
static struct proc *preempted_get(struct sched *s, bool now)
{
    struct proc *p = s->pre_head;
    uint64_t t;

    if (!p)
        return NULL;
    if (!now && ++s->pre_tick < PREEMPTED_POLL_EVERY)
        return NULL;
    s->pre_tick = 0;
    t = ax__now_ns();
    if (!now && t < s->pre_due)
        return NULL;
    s->pre_head = p->run_next;
    if (!s->pre_head)
        s->pre_tail = NULL;
    s->pre_due = t + ax__preempt_slice_ns();
    return p;
}

static void preempted_put(struct sched *s, struct proc *p)
{
    p->run_next = NULL;
    if (!s->pre_head)
        s->pre_due = ax__now_ns() + ax__preempt_slice_ns();
    if (s->pre_tail)
        s->pre_tail->run_next = p;
    else
        s->pre_head = p;
    s->pre_tail = p;
}

/*
 * The next process to run. A preempted one goes first if it is due;
 * then runnext (a woken partner runs at
 * once), but only RUNNEXT_STREAK times in a row: after that the queue
 * and the global list get their turn, so a ping-pong pair (which keeps
 * refilling runnext) cannot starve everyone else, as in Go's scheduler.
 */
#define RUNNEXT_STREAK 32

static struct proc *find_work(struct sched *s)
{
    struct node *n = &ax__node;
    struct proc *p = preempted_get(s, false);

    if (p)
        return p;
    p = s->runnext;
    if (p && s->streak < RUNNEXT_STREAK) {
        s->runnext = NULL;
        s->streak++;
        return p;
    }
    s->streak = 0;
    p = n->seed ? pick_random(s) : ring_get(s);
    if (!p)
        p = global_get(s);
    if (!p && s->runnext) {
        p = s->runnext;
        s->runnext = NULL;
    }
    if (!p)
        p = preempted_get(s, true);
    if (p)
        return p;
    for (unsigned i = 1; i < n->nscheds; i++) {
        struct sched *v = &n->scheds[(s->id + i) % n->nscheds];

        p = ring_steal(s, v);
        if (p)
            return p;
    }
    return NULL;
}

static bool any_work(struct sched *s)
{
    struct node *n = &ax__node;

    if (s->runnext || s->pre_head || ring_len(s) ||
        atomic_load_explicit(&n->global_len, memory_order_seq_cst))
        return true;
    for (unsigned i = 0; i < n->nscheds; i++)
        if (ring_len(&n->scheds[i]) > 1)
            return true;
    return false;
}

static void sleep_until_work(struct sched *s)
{
    struct node *n = &ax__node;
    uint64_t deadline = ax__wheel_next_deadline(&s->wheel);
    struct timespec ts;
    struct timespec *tsp = NULL;

    atomic_store(&s->wake_word, 0);
    atomic_store(&s->sleeping, 1);
    atomic_fetch_add(&n->nsleeping, 1); /* seq_cst: see the top */
    if (!any_work(s) && !atomic_load(&n->stopping)) {
        if (deadline != UINT64_MAX) {
            uint64_t now = ax__now_ms();
            uint64_t ms = deadline > now ? deadline - now : 0;

            ts.tv_sec = (time_t)(ms / 1000);
            ts.tv_nsec = (long)(ms % 1000) * 1000000;
            tsp = &ts;
        }
        futex(&s->wake_word, FUTEX_WAIT_PRIVATE, 0, tsp);
    }
    atomic_fetch_sub(&n->nsleeping, 1);
    atomic_store(&s->sleeping, 0);
    ax__preempt_woke();
}

/* --- Running a process -------------------------------------------------- */

static void release_stack(struct sched *s, struct proc *p)
{
    if (!p->stack)
        return;
    ax__ctx_destroy(&p->ctx);
    ax__stack_put(&s->stacks, p->stack);
    p->stack = NULL;
}

/* After p switched back: do what it asked, on the scheduler's stack. */
static void settle(struct sched *s, struct proc *p)
{
    if (!(p->flags & PF_HAS_STACK))
        release_stack(s, p);
    switch (s->outcome) {
    case OUT_EXIT:
        ax__ptab_release(p, &s->freed);
        sched_count(&s->exits, 1);
        if (atomic_load(&ax__node.stopping_wait) && ax__ptab_count() == 0) {
            pthread_mutex_lock(&ax__node.wait_lock);
            pthread_cond_broadcast(&ax__node.wait_cond);
            pthread_mutex_unlock(&ax__node.wait_lock);
        }
        return;
    case OUT_YIELD:
        atomic_store_explicit(&p->state, PS_RUNNABLE, memory_order_relaxed);
        ax__sched_enqueue(p, false);
        return;
    case OUT_PREEMPT:
        atomic_store_explicit(&p->state, PS_RUNNABLE, memory_order_relaxed);
        sched_count(&s->preemptions, 1);
        preempted_put(s, p);
        return;
    case OUT_WAIT:
        /* The state is for observers; the mailbox's tag decides. Once
         * idle, p is another thread's to schedule: touch it no more. */
        atomic_store_explicit(&p->state, PS_WAITING, memory_order_relaxed);
        if (!ax__mailbox_idle(&p->mbox)) {
            atomic_store_explicit(&p->state, PS_RUNNABLE,
                                  memory_order_relaxed);
            ax__sched_enqueue(p, false);
        }
        return;
    }
}

/* Gives p a stack and a fresh context that starts at its entry. */
static int prepare(struct sched *s, struct proc *p)
{
    p->stack = ax__stack_get(&s->stacks);
    if (!p->stack)
        return AX_ESYSLIMIT;
    ax__ctx_init(&p->ctx, p->stack->lo, p->stack->size, ax__proc_entry, p);
    return 0;
}

static void run(struct sched *s, struct proc *p)
{
    uint64_t used;

    atomic_store_explicit(&p->state, PS_RUNNING, memory_order_relaxed);
    p->sched_id = s->id;
    p->budget = SLICE_REDUCTIONS;
    if (!(p->flags & PF_HAS_STACK) && prepare(s, p) != 0) {
        /* No stack can be had now: try again later. */
        atomic_store_explicit(&p->state, PS_RUNNABLE, memory_order_relaxed);
        global_put(p);
        return;
    }
    s->current = p;
    sched_count(&s->slice, 1); /* odd: p runs */
    ax__ctx_switch(&s->ctx, &p->ctx);
    sched_count(&s->slice, 1);
    s->current = NULL;
    used = (uint64_t)((int64_t)SLICE_REDUCTIONS - p->budget);
    p->reductions += used;
    sched_count(&s->reductions, used);
    sched_count(&s->switches, 1);
    if (s->outcome == OUT_YIELD || s->outcome == OUT_PREEMPT)
        s->tick = TIMER_POLL_EVERY; /* a long slice: look at the clock */
    settle(s, p);
}

void ax__sched_leave(struct proc *p, enum outcome o, bool keep_stack)
{
    struct sched *s = ax__sched_self();

    if (s->out_n)
        ax__flush_sends(s); /* nothing it sent waits while it does not run */
    s->outcome = o;
    if (keep_stack) {
        p->flags |= PF_HAS_STACK;
        ax__ctx_switch(&p->ctx, &s->ctx);
        return;
    }
    p->flags &= (uint8_t)~PF_HAS_STACK;
    ax__ctx_exit(&p->ctx, &s->ctx);
}

/* Fires due timers, reading the clock only every few activations (and
 * after a long slice): timers may be late by that much, never early. */
static void poll_timers(struct sched *s, bool now)
{
    if (!ax__wheel_count(&s->wheel))
        return;
    if (!now && ++s->tick < TIMER_POLL_EVERY)
        return;
    s->tick = 0;
    ax__timers_poll(s, ax__now_ms());
}

/* Whether scheduler arg has something to do after all: a process to run,
 * or a timer due. The crash log's writing asks it between two rows
 * (crash/log.h). */
static bool work_came(void *arg)
{
    struct sched *s = arg;

    return any_work(s) || ax__wheel_next_deadline(&s->wheel) <= ax__now_ms() ||
           atomic_load_explicit(&ax__node.stopping, memory_order_relaxed);
}

/* Sleeps until woken or the next timer; counts the time as idle. */
static void idle(struct sched *s)
{
    uint64_t t0 = ax__now_ns();

    ax__ptab_flush(&s->freed);
    /* Nothing to run: the crash log's reports, until there is something
     * to do, which it notices between two rows (crash/log.h).
     * sleep_until_work looks for work itself. */
    while (atomic_load_explicit(&ax__crash_queued, memory_order_relaxed)) {
        if (work_came(s))
            goto out;
        if (!ax__crash_log_help(work_came, s))
            break;
    }
    sleep_until_work(s);
out:
    sched_count(&s->idle_ns, ax__now_ns() - t0);
}

static void *sched_main(void *arg)
{
    struct sched *s = arg;
    struct node *n = &ax__node;

    ax__tls_sched = s;
    ax__preempt_thread_start(s);
    ax__ctx_init_thread(&s->ctx);
    if (ax__sched_on_thread)
        ax__sched_on_thread(s, true);
    while (!atomic_load_explicit(&n->stopping, memory_order_acquire)) {
        struct proc *p;

        poll_timers(s, false);
        p = find_work(s);
        if (!p) {
            poll_timers(s, true);
            p = find_work(s);
        }
        if (p)
            run(s, p);
        else
            idle(s);
    }
    if (ax__sched_on_thread)
        ax__sched_on_thread(s, false);
    ax__ptab_flush(&s->freed);
    ax__msg_cache_flush();
    ax__ctx_destroy(&s->ctx);
    ax__preempt_thread_end(s);
    ax__tls_sched = NULL;
    return NULL;
}

/* --- The node ---------------------------------------------------------------- */

static uint64_t seed_from_env(void)
{
    const char *v = getenv("AX_SEED");

    return v && *v ? strtoull(v, NULL, 0) : 0;
}

/* A process heap that cannot grow ends its process (never returns). */
static void oom_exit(ax_heap_t *h, void *arg)
{
    struct proc *p = arg;

    (void)h;
    if (p == ax__proc_self())
        ax__proc_exit(p, make_atom(ATOM_IDX_OOM));
}

static int init_scheds(struct node *n)
{
    n->scheds = ax__calloc(n->nscheds, sizeof(*n->scheds));
    if (!n->scheds)
        return AX_ENOMEM;
    for (unsigned i = 0; i < n->nscheds; i++) {
        struct sched *s = &n->scheds[i];

        s->id = i;
        s->rng = n->seed + i;
        ax__wheel_init(&s->wheel, ax__now_ms());
        if (ax__stack_pool_init(&s->stacks, n->stack_size, STACKS_KEPT))
            return AX_ENOMEM;
    }
    return 0;
}

static void free_scheds(struct node *n)
{
    for (unsigned i = 0; n->scheds && i < n->nscheds; i++) {
        ax__timers_drop(&n->scheds[i]);
        ax__timers_flush_cache(&n->scheds[i]);
        ax__wheel_destroy(&n->scheds[i].wheel);
        ax__stack_pool_destroy(&n->scheds[i].stacks);
    }
    ax__free(n->scheds);
    n->scheds = NULL;
}

int ax__sched_start(const ax_node_opts_t *opts)
{
    static const ax_node_opts_t defaults;
    struct node *n = &ax__node;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int err;

    if (!opts)
        opts = &defaults;
    if (atomic_load(&n->running))
        return AX_ESTATE;
    n->seed = opts->seed ? opts->seed : seed_from_env();
    n->nscheds = opts->schedulers ? opts->schedulers
                                  : (unsigned)(cpus > 0 ? cpus : 1);
    if (n->seed)
        n->nscheds = 1;
    n->stack_size = opts->stack_size ? opts->stack_size
                                     : AX_STACK_SIZE_DEFAULT;
    err = ax__ptab_init(opts->max_processes ? opts->max_processes
                                            : (size_t)1 << 20);
    if (err)
        return err;
    err = init_scheds(n);
    if (err)
        goto out_free;
    ax__proc_oom = oom_exit;
    n->start_ns = ax__now_ns();
    atomic_store(&n->stopping, false);
    atomic_store(&n->running, true);
    for (unsigned i = 0; i < n->nscheds; i++) {
        if (pthread_create(&n->scheds[i].thread, NULL, sched_main,
                           &n->scheds[i]) == 0) {
            /* Named here, so that it is by the time the node runs. */
            ax__name_thread(n->scheds[i].thread, "ax-sched-%u", i);
            continue;
        }
        atomic_store(&n->stopping, true);
        for (unsigned j = 0; j < i; j++) {
            atomic_store(&n->scheds[j].wake_word, 1);
            futex(&n->scheds[j].wake_word, FUTEX_WAKE_PRIVATE, 1, NULL);
            pthread_join(n->scheds[j].thread, NULL);
        }
        err = AX_ENOMEM;
        goto out_free;
    }
    err = ax__preempt_start(opts->slice_ms);
    if (err) {
        ax__sched_stop();
        return err;
    }
    return 0;
out_free:
    atomic_store(&n->running, false);
    free_scheds(n);
    ax__ptab_destroy();
    return err;
}

static void kill_one(struct proc *p, void *arg)
{
    (void)arg;
    ax__send_signal(atomic_load(&p->pid), SIG_EXIT, AX_NONE,
                    make_atom(ATOM_IDX_KILL), 0);
}

/* Frees what dead processes left in their mailboxes (late messages). */
static void drop_leftovers(struct proc *p, void *arg)
{
    struct msg *m;

    (void)arg;
    while ((m = ax__mailbox_pop(&p->mbox)))
        ax__msg_free(m);
    ax__mailbox_destroy(&p->mbox);
}

/* Kills every process and waits until none is left. */
static void kill_all(struct node *n)
{
    struct timespec ts;

    atomic_store(&n->stopping_wait, true);
    pthread_mutex_lock(&n->wait_lock);
    while (ax__ptab_count() > 0) {
        pthread_mutex_unlock(&n->wait_lock);
        ax__ptab_foreach(kill_one, NULL);
        pthread_mutex_lock(&n->wait_lock);
        /* Woken by the last exit; the timeout re-sends kills to processes
         * spawned meanwhile. */
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        if (ax__ptab_count() > 0)
            pthread_cond_timedwait(&n->wait_cond, &n->wait_lock, &ts);
    }
    pthread_mutex_unlock(&n->wait_lock);
    atomic_store(&n->stopping_wait, false);
}

int ax__sched_stop(void)
{
    struct node *n = &ax__node;

    if (!atomic_load(&n->running) || ax__sched_self())
        return AX_ESTATE;
    kill_all(n);
    ax__preempt_stop();
    /* seq_cst (not release only): before the look at outside_wakers. */
    atomic_store(&n->stopping, true);
    for (unsigned i = 0; i < n->nscheds; i++) {
        atomic_store(&n->scheds[i].wake_word, 1);
        futex(&n->scheds[i].wake_word, FUTEX_WAKE_PRIVATE, 1, NULL);
    }
    for (unsigned i = 0; i < n->nscheds; i++)
        pthread_join(n->scheds[i].thread, NULL);
    while (atomic_load(&n->outside_wakers)) /* see wake_from_outside */
        sched_yield();
    free_scheds(n);
    ax__ptab_foreach_slot(drop_leftovers, NULL);
    ax__ptab_destroy();
    ax__msg_cache_flush(); /* what this thread sent or freed */
    ax__msg_depot_flush();
    ax__registry_clear();
    n->global_head = n->global_tail = NULL;
    atomic_store(&n->global_len, 0);
    free(n->root_reason);
    n->root_reason = NULL;
    atomic_store(&n->running, false);
    return 0;
}

/* Called by an exiting process: wakes ax_node_run and ax_node_stop. */
void ax__node_note_exit(ax_term_t pid, ax_term_t reason)
{
    struct node *n = &ax__node;

    /* Most exits concern no waiter: no lock for them. While a root is
     * being spawned its pid is not known yet (AX_ANY): lock then. */
    ax_term_t root = atomic_load(&n->root);

    if (pid != root && root != AX_ANY)
        return;
    pthread_mutex_lock(&n->wait_lock);
    if (pid == n->root && !n->root_done) {
        n->root_reason = ax_format(reason, NULL, NULL);
        n->root_done = true;
    }
    pthread_cond_broadcast(&n->wait_cond);
    pthread_mutex_unlock(&n->wait_lock);
}

int ax_node_run(ax_body_fn fn, ax_term_t arg, char **reason)
{
    struct node *n = &ax__node;
    ax_term_t pid;
    bool normal;
    int err;

    if (!atomic_load(&n->running) || ax__sched_self())
        return AX_ESTATE;
    pthread_mutex_lock(&n->wait_lock);
    n->root_done = false;
    atomic_store(&n->root, AX_ANY);
    err = ax_spawn(fn, arg, &pid);
    atomic_store(&n->root, err ? AX_NONE : pid);
    while (!err && !n->root_done)
        pthread_cond_wait(&n->wait_cond, &n->wait_lock);
    pthread_mutex_unlock(&n->wait_lock);
    if (err)
        return err;
    normal = n->root_reason && strcmp(n->root_reason, "normal") == 0;
    if (reason)
        *reason = n->root_reason;
    else
        free(n->root_reason);
    n->root_reason = NULL;
    atomic_store(&n->root, AX_NONE);
    return normal ? 0 : AX_EBADARG;
}

int ax_node_stats(ax_node_stats_t *out)
{
    struct node *n = &ax__node;

    memset(out, 0, sizeof(*out));
    if (!atomic_load(&n->running))
        return AX_ESTATE;
    out->schedulers = n->nscheds;
    out->processes = ax__ptab_count();
    out->process_limit = ax__ptab_limit();
    out->stacks = ax__stack_count();
    out->seed = n->seed;
    for (unsigned i = 0; i < n->nscheds; i++) {
        struct sched *s = &n->scheds[i];

        out->spawns += atomic_load(&s->spawns);
        out->exits += atomic_load(&s->exits);
        out->messages += atomic_load(&s->messages);
        out->reductions += atomic_load(&s->reductions);
        out->gcs += atomic_load(&s->gcs);
    }
    return 0;
}

int ax_sched_stats(unsigned i, ax_sched_stats_t *out)
{
    struct node *n = &ax__node;
    struct sched *s;
    uint64_t now;
    uint64_t idle;
    uint64_t wall;

    if (!atomic_load(&n->running) || i >= n->nscheds)
        return AX_EINVAL;
    s = &n->scheds[i];
    now = ax__now_ns();
    idle = atomic_load(&s->idle_ns);
    wall = now - (s->stats_wall ? s->stats_wall : n->start_ns);
    out->busy_ns = now - n->start_ns - idle;
    out->utilisation =
        wall ? 1.0 - (double)(idle - s->stats_idle) / (double)wall : 0.0;
    if (out->utilisation < 0)
        out->utilisation = 0;
    s->stats_idle = idle;
    s->stats_wall = now;
    out->run_queue = ring_len(s) + (s->runnext != NULL);
    out->context_switches = atomic_load(&s->switches);
    out->steals = atomic_load(&s->steals);
    out->preemptions = atomic_load(&s->preemptions);
    return 0;
}
