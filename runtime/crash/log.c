/*
 * log.c - the crash log (log.h): the queue between the processes that
 * report and its writers, the writer thread, and the log's life. Reports
 * are built by log_report.c and written by log_db.c, whose opening
 * comment has the schema.
 *
 * The queue is an intrusive multi-producer, single-consumer list (as
 * Vyukov's): a process appends its report with one atomic exchange and a
 * store, never a lock, so no scheduler sleeps on a lock whoever holds it.
 * Its consumer is whoever holds q.db_lock: the writer thread, or a
 * scheduler with nothing to run (ax__crash_log_help), which only ever
 * tries that lock. The counters a process updates are atomics. Who
 * writes when is in log.h.
 *
 * Locking: q.db_lock guards the database handle (q.db) and the consumer's
 * side of the queue (q.out, q.retry); q.lock the rest of q that is not
 * atomic: flags, limits, paths and the counters of what was written.
 * Order: q.db_lock, then q.lock. Neither is held across a wait for the
 * other side, and a scheduler holds q.lock only for a moment.
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/thread.h"
#include "../term/atom.h"
#include "dump.h"

#define NODE_NAME_MAX 256
#define DEFAULT_MAX_ROWS 100000
#define DEFAULT_MAX_AGE_S (30u * 24 * 3600)
#define DEFAULT_MAX_QUEUED 1000000
#define DEFAULT_MAX_QUEUED_BYTES ((size_t)256 << 20)
#define DEFAULT_RETRY_MS 1000
/* A supervisor reporting while the queue holds over 1/PRESS_PART of its
 * bounds waits, PACE_MS at a time, until it is back under half that. */
#define PRESS_PART 10
#define PACE_MS 1
/* Past 1/OVERLOAD_PART of its bounds the queue is near dropping reports:
 * the writer thread writes beside the schedulers, whatever it costs them. */
#define OVERLOAD_PART 2
/* Reports an idle scheduler writes at most in one transaction (about a
 * millisecond); it stops between two rows, and commits, as soon as it has
 * something to do again (crash_db_writer). Fewer would cost more commits;
 * and the scheduler had nothing to run. */
#define HELP_REPORTS 256
/* Reports in the commit the writer thread writes for the schedulers when
 * the WAL starts afresh (SQLite syncs then). */
#define FIRST_REPORTS 1
/* Reports the writer thread writes between two looks at its flags. */
#define THREAD_BATCH 10000
/* With reports waiting and no scheduler idle for STARVE_MS, the writer
 * thread writes STARVE_BATCH of them beside the busy schedulers. */
#define STARVE_MS 100
#define STARVE_BATCH 256
/* How often the writer thread looks again, while reports wait or a
 * checkpoint is put off (the schedulers all busy). */
#define RECHECK_MS 10
/* A checkpoint waits at most this long for a scheduler to sleep. */
#define CKPT_WAIT_MS 1000

/* --- The queue ------------------------------------------------------------ */

_Atomic(size_t) ax__crash_queued;

/* The queue's placeholder: it is in the list when the list is empty. */
static struct report stub;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;    /* the writer thread waits for work here */
    pthread_cond_t settled; /* flushers wait for writes here */
    /* Producers' side: the last report appended. */
    _Atomic(struct report *) in;
    _Atomic unsigned pushing;  /* processes between `open` and the push */
    _Atomic size_t bytes;      /* of the reports counted in ax__crash_queued */
    _Atomic uint64_t accepted; /* reports ever queued */
    _Atomic uint64_t dropped;
    _Atomic size_t max_queued; /* limits.max_queued, for the producers */
    _Atomic size_t max_queued_bytes;
    _Atomic bool open;       /* reports are accepted */
    _Atomic bool waiting;    /* the writer thread waits on `work` */
    _Atomic bool self_write; /* and writes what comes itself (a core is
                              * spare): a report wakes it */
    _Atomic bool failing;    /* the last attempt failed: the writer
                              * thread's to retry, no scheduler's */
    _Atomic unsigned pacing; /* supervisors held back (pace) */
    /* Since when reports wait with none written (ax__now_ns). */
    _Atomic uint64_t waiting_since;
    /* Consumer's side, under db_lock. */
    pthread_mutex_t db_lock;
    struct crash_db *db;  /* the writer thread's, once it opened it */
    struct report *out;   /* the oldest report (or the stub) */
    struct report *retry; /* taken by a failed attempt: they go first */
    /* Under lock. */
    uint64_t done; /* of those accepted, committed or dropped */
    uint64_t written;
    uint64_t attempts; /* write attempts finished */
    uint64_t flush_at; /* the least `done` a flusher waits for */
    struct crash_log_limits limits;
    bool has_writer;
    bool stop;                 /* the writer is to write what it can, end */
    bool busy;                 /* a writer is in an attempt */
    bool retry_now;            /* a flusher waits: retry a failing write */
    bool said_failing;         /* what stderr was last told */
    bool checkpoint;           /* a scheduler found one due */
    uint64_t checkpoint_asked; /* when (ax__now_ns) */
    bool first;                /* a scheduler found the database closed or
                                * its WAL to start afresh: the thread's */
    struct timespec retry_at;  /* when failing: the next attempt */
    pthread_t writer;
    char *path;                    /* the open log's database */
    char *dump_path;               /* its node's crash dump, or NULL */
    char *chosen;                  /* ax_crash_log_set_path's, or NULL */
    char node_next[NODE_NAME_MAX]; /* ax__crash_log_set_node's */
    char node[NODE_NAME_MAX];      /* the open log's: stable while it runs */
    int64_t node_start;
} q = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work = PTHREAD_COND_INITIALIZER,
    .settled = PTHREAD_COND_INITIALIZER,
    .db_lock = PTHREAD_MUTEX_INITIALIZER,
    .flush_at = UINT64_MAX,
    .in = &stub,
    .out = &stub,
    .limits = {DEFAULT_MAX_ROWS, DEFAULT_MAX_AGE_S, DEFAULT_MAX_QUEUED,
               DEFAULT_MAX_QUEUED_BYTES, DEFAULT_RETRY_MS},
    .max_queued = DEFAULT_MAX_QUEUED,
    .max_queued_bytes = DEFAULT_MAX_QUEUED_BYTES,
    .node_next = "nonode",
};

/* Appends r (any thread). The exchange orders the producers; the store
 * of the link publishes r to the consumer (release). */
static void push(struct report *r)
{
    struct report *prev;

    atomic_store_explicit(&r->qnext, NULL, memory_order_relaxed);
    prev = atomic_exchange_explicit(&q.in, r, memory_order_acq_rel);
    atomic_store_explicit(&prev->qnext, r, memory_order_release);
}

/* Takes the oldest report, or NULL if there is none, or the next one is
 * still being appended (its producer is between its two steps: it is
 * taken next time). Under db_lock. */
static struct report *pop(void)
{
    struct report *r = q.out;
    struct report *next = atomic_load_explicit(&r->qnext, memory_order_acquire);

    if (r == &stub) {
        if (!next)
            return NULL;
        q.out = r = next;
        next = atomic_load_explicit(&r->qnext, memory_order_acquire);
    }
    if (next) {
        q.out = next;
        return r;
    }
    if (r != atomic_load_explicit(&q.in, memory_order_acquire))
        return NULL;
    push(&stub); /* r is the last: the stub goes behind it */
    next = atomic_load_explicit(&r->qnext, memory_order_acquire);
    if (!next)
        return NULL;
    q.out = next;
    return r;
}

/* Up to max reports, oldest first (those of a failed attempt first), as
 * a list linked by next; *last gets its end. Under db_lock. */
static struct report *take(size_t max, struct report **last)
{
    struct report *list = NULL;
    struct report *r;

    *last = NULL;
    for (size_t n = 0; n < max; n++) {
        if (q.retry) {
            r = q.retry;
            q.retry = r->next;
        } else if (!(r = pop())) {
            break;
        }
        r->next = NULL;
        if (*last)
            (*last)->next = r;
        else
            list = r;
        *last = r;
    }
    return list;
}

/* Counts r in the queue's bounds; false (and nothing counted) if it
 * does not fit. *first: the queue was empty. */
static bool reserve(const struct report *r, bool *first)
{
    size_t max = atomic_load_explicit(&q.max_queued, memory_order_relaxed);
    size_t max_bytes =
        atomic_load_explicit(&q.max_queued_bytes, memory_order_relaxed);
    size_t n = atomic_fetch_add(&ax__crash_queued, 1);
    size_t b;

    if (n >= max) {
        atomic_fetch_sub(&ax__crash_queued, 1);
        return false;
    }
    *first = n == 0;
    if (n == 0)
        atomic_store_explicit(&q.waiting_since, ax__now_ns(),
                              memory_order_relaxed);
    b = atomic_fetch_add(&q.bytes, r->size);
    if (r->size > max_bytes || b > max_bytes - r->size) {
        atomic_fetch_sub(&q.bytes, r->size);
        atomic_fetch_sub(&ax__crash_queued, 1);
        return false;
    }
    return true;
}

/* Whether the queue holds over 1/part of its bounds. */
static bool past(size_t part)
{
    return atomic_load(&ax__crash_queued) >=
               atomic_load(&q.max_queued) / part ||
           atomic_load(&q.bytes) >= atomic_load(&q.max_queued_bytes) / part;
}

/* Whether the queue is past its high-water mark (PRESS_PART of its
 * bounds), or, with `easing`, not yet back under half of it. */
static bool pressed(bool easing)
{
    return past(easing ? 2 * PRESS_PART : PRESS_PART);
}

/* Queues r, or drops it (NULL: memory ran out building it); then makes
 * sure someone writes it. */
static void enqueue(struct report *r)
{
    bool first = false;
    bool self_write;
    bool fits;

    /* `pushing` keeps ax__crash_log_close from draining the queue between
     * this look at `open` and the push (seq_cst, as there). */
    atomic_fetch_add(&q.pushing, 1);
    fits = r && atomic_load(&q.open) && reserve(r, &first);
    if (fits) {
        push(r);
        atomic_fetch_add_explicit(&q.accepted, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&q.dropped, 1, memory_order_relaxed);
    }
    atomic_fetch_sub(&q.pushing, 1);
    if (!fits) {
        free(r);
        return;
    }
    /* seq_cst: the push before the look at `waiting`, as the writer
     * thread's store of `waiting` before its look at the queue. */
    atomic_thread_fence(memory_order_seq_cst);
    self_write = atomic_load_explicit(&q.self_write, memory_order_relaxed);
    /* The writer thread is told when it is to write, and of the first
     * report of a burst: it then looks every RECHECK_MS whether the
     * reports starve (STARVE_MS). */
    if (atomic_load_explicit(&q.waiting, memory_order_relaxed) &&
        (self_write || first || past(OVERLOAD_PART))) {
        pthread_mutex_lock(&q.lock);
        pthread_cond_signal(&q.work);
        pthread_mutex_unlock(&q.lock);
    }
    /* Else a sleeping scheduler writes it. One that is just going to
     * sleep may miss it: then the writer thread writes it, within
     * STARVE_MS. */
    if (!self_write &&
        atomic_load_explicit(&ax__node.nsleeping, memory_order_relaxed))
        ax__sched_wake_idle();
}

/* normal, shutdown, {shutdown, _}; and killed while the node stops. */
static bool is_clean(ax_term_t reason)
{
    ax_term_t shutdown = make_atom(ATOM_IDX_SHUTDOWN);

    /* Relaxed: the stopping thread set the flag before it sent the kill
     * that ends p, and that signal's delivery orders the two. */
    return reason == ATOM_NORMAL || reason == shutdown ||
           ax_is_record(reason, shutdown, 2) ||
           (reason == ATOM_KILLED &&
            atomic_load_explicit(&ax__node.stopping_wait,
                                 memory_order_relaxed));
}

void ax__crash_report(struct proc *p, ax_term_t reason)
{
    if (is_clean(reason))
        return;
    /* A closed log keeps nothing: the report is not even built, only
     * counted dropped, as enqueue would. */
    if (atomic_load_explicit(&q.open, memory_order_relaxed))
        enqueue(ax__crash_report_new(p, reason));
    else
        atomic_fetch_add_explicit(&q.dropped, 1, memory_order_relaxed);
}

/* Holds the calling process back while the queue is past its high-water
 * mark and the writers are making headway, so that what makes reports
 * goes at the pace the database takes them. It sleeps as a process
 * does: its scheduler runs the others (and writes) meanwhile. */
static void pace(void)
{
    bool wait = pressed(false);

    if (!wait)
        return;
    /* A restart loop outruns the idle schedulers: the writer thread
     * joins in while a supervisor is held back (thread_writes). */
    atomic_fetch_add(&q.pacing, 1);
    while (wait && !atomic_load(&q.failing)) {
        pthread_mutex_lock(&q.lock);
        wait = q.has_writer;
        if (wait && atomic_load(&q.waiting))
            pthread_cond_signal(&q.work);
        pthread_mutex_unlock(&q.lock);
        if (!wait)
            break;
        ax_sleep(PACE_MS);
        wait = pressed(true);
    }
    atomic_fetch_sub(&q.pacing, 1);
}

void ax__crash_sup_report(const ax_sup_report_t *report)
{
    enqueue(ax__crash_sup_report_new(report));
    if (ax__proc_self())
        pace();
}

/* --- Writing ---------------------------------------------------------------
 */

/* Says once on stderr that the database cannot be written, or that it
 * can again. Under lock. */
static void say(bool failing, const char *why)
{
    if (failing == q.said_failing)
        return;
    q.said_failing = failing;
    if (failing)
        fprintf(stderr,
                "ax: crash log: cannot write %s: %s; keeping up to %zu "
                "reports in memory and retrying\n",
                q.path, why, q.limits.max_queued);
    else
        fprintf(stderr, "ax: crash log: writing to %s again\n", q.path);
}

/* A deadline ms from now. */
static struct timespec after_ms(unsigned ms)
{
    struct timespec t;

    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}

/* One attempt: writes up to max reports, in transactions, as w says.
 * What it did not write goes back to the front; the counters are settled
 * and the flushers told. False if there was nothing to write. Under
 * db_lock, with q.db open or to open (the writer thread's). */
static bool attempt(size_t max, const struct crash_db_writer *w)
{
    struct crash_log_limits l;
    struct report *last;
    struct report *rest;
    uint64_t n = 0;
    size_t bytes = 0;
    bool failed;

    rest = take(max, &last);
    if (!rest)
        return false;
    pthread_mutex_lock(&q.lock);
    l = q.limits;
    q.busy = true;
    pthread_mutex_unlock(&q.lock);
    failed = ax__crash_db_write(q.db, &rest, &l, w, &n, &bytes) != 0;
    if (rest) {
        last->next = q.retry;
        q.retry = rest;
    }
    atomic_fetch_sub(&ax__crash_queued, n);
    atomic_fetch_sub(&q.bytes, bytes);
    if (n)
        atomic_store_explicit(&q.waiting_since, ax__now_ns(),
                              memory_order_relaxed);
    pthread_mutex_lock(&q.lock);
    q.done += n;
    q.written += n;
    q.busy = false;
    q.attempts++;
    atomic_store(&q.failing, failed);
    say(failed, ax__crash_db_error(q.db));
    if (failed)
        q.retry_at = after_ms(l.retry_ms);
    if (failed || q.done >= q.flush_at) { /* not at every attempt */
        q.flush_at = UINT64_MAX;
        pthread_cond_broadcast(&q.settled);
    }
    pthread_mutex_unlock(&q.lock);
    return true;
}

/* --- The idle class ----------------------------------------------------------
 *
 * A scheduler writes reports in the kernel's idle class (SCHED_IDLE), so
 * that its core still counts as free: a thread that wakes elsewhere on the
 * machine (another program's, the kernel's) goes there rather than onto a
 * core where a scheduler runs processes, and takes it at once (log.h),
 * where the kernel looks for a free core at all: when every core is
 * busy, even at this class, it may not look, and a thread stays queued
 * on the core it woke on. Still, it is better than normal priority, at
 * which no core is free: a thread spinning on the spare core stalls a
 * ping-pong pair beside it 4-6 ms at normal priority, 1.5-4 ms in the
 * idle class (medians of five runs each, on a 2-vCPU machine).
 * Only where the process may leave that class again: an unprivileged
 * thread may not (it needs CAP_SYS_NICE, or an RLIMIT_NICE of 20 or more:
 * `ulimit -e 20`), and a scheduler must not stay there. A thread made
 * for the purpose tries it once, as the log first opens.
 */

static _Atomic bool idle_class;
static pthread_once_t idle_class_once = PTHREAD_ONCE_INIT;

static bool fair_policy(int policy)
{
    return policy == SCHED_OTHER || policy == SCHED_BATCH;
}

static void *idle_class_try(void *arg)
{
    struct sched_param none = {0};
    int policy = sched_getscheduler(0);

    *(bool *)arg = fair_policy(policy) &&
                   sched_setscheduler(0, SCHED_IDLE, &none) == 0 &&
                   sched_setscheduler(0, policy, &none) == 0;
    return NULL;
}

static void idle_class_find(void)
{
    pthread_t t;
    bool ok = false;

    if (pthread_create(&t, NULL, idle_class_try, &ok) == 0 &&
        pthread_join(t, NULL) == 0)
        atomic_store(&idle_class, ok);
}

bool ax__crash_log_idle_class(void)
{
    pthread_once(&idle_class_once, idle_class_find);
    return atomic_load(&idle_class);
}

/* A scheduler's writing in the idle class: its own policy, to go back to
 * (-1: it is not in the idle class), and what it asks between two rows. */
struct idle_write {
    int policy;
    bool (*busy)(void *arg);
    void *arg;
};

static void idle_class_enter(struct idle_write *iw)
{
    struct sched_param none = {0};
    int policy;

    iw->policy = -1;
    if (!atomic_load_explicit(&idle_class, memory_order_relaxed))
        return;
    policy = sched_getscheduler(0);
    if (fair_policy(policy) && sched_setscheduler(0, SCHED_IDLE, &none) == 0)
        iw->policy = policy;
}

static void idle_class_leave(struct idle_write *iw)
{
    struct sched_param none = {0};

    if (iw->policy < 0)
        return;
    if (sched_setscheduler(0, iw->policy, &none) != 0 &&
        atomic_exchange(&idle_class, false))
        fprintf(stderr,
                "ax: crash log: a scheduler cannot leave the idle class: "
                "%s; reports are written at normal priority from now on\n",
                strerror(errno));
    iw->policy = -1;
}

/* Work came: back to its own class at once, for the commit too (the
 * idle class waits for every other thread on its core). */
static bool idle_write_stops(void *arg)
{
    struct idle_write *iw = arg;

    if (!iw->busy(iw->arg))
        return false;
    idle_class_leave(iw);
    return true;
}

bool ax__crash_log_help(bool (*busy)(void *arg), void *arg)
{
    struct idle_write iw = {.policy = -1, .busy = busy, .arg = arg};
    struct crash_db_writer w = {.enough = idle_write_stops, .arg = &iw};
    bool wrote = false;
    bool ckpt = false;
    bool first = false;

    if (!atomic_load_explicit(&ax__crash_queued, memory_order_relaxed) ||
        atomic_load_explicit(&q.failing, memory_order_relaxed) ||
        pthread_mutex_trylock(&q.db_lock) != 0)
        return false;
    if (q.db && ax__crash_db_ready(q.db) && !atomic_load(&q.failing)) {
        idle_class_enter(&iw);
        wrote = attempt(HELP_REPORTS, &w);
        idle_class_leave(&iw);
        ckpt = ax__crash_db_checkpoint_due(q.db);
    } else if (q.db && !atomic_load(&q.failing)) {
        first = true;
    }
    pthread_mutex_unlock(&q.db_lock);
    if (ckpt || first) {
        pthread_mutex_lock(&q.lock);
        if ((ckpt && !q.checkpoint) || (first && !q.first)) {
            if (ckpt && !q.checkpoint)
                q.checkpoint_asked = ax__now_ns();
            q.checkpoint |= ckpt;
            q.first |= first;
            pthread_cond_signal(&q.work);
        }
        pthread_mutex_unlock(&q.lock);
    }
    return wrote;
}

/* --- The writer thread ------------------------------------------------------
 */

static bool retry_due(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec > q.retry_at.tv_sec ||
           (now.tv_sec == q.retry_at.tv_sec &&
            now.tv_nsec >= q.retry_at.tv_nsec);
}

/* Whether the writer thread writes now rather than the schedulers: a
 * core is spare, a supervisor is held back for the queue (a restart loop:
 * the database sets the pace, not the schedulers' idle time), the queue
 * nears its bounds, or the log closes. Under lock. */
static bool thread_writes(void)
{
    return q.stop || ax__sched_spare_core() || atomic_load(&q.pacing) ||
           past(OVERLOAD_PART);
}

/* Whether reports have waited STARVE_MS with none written: no scheduler
 * was idle meanwhile. */
static bool starving(void)
{
    return atomic_load(&ax__crash_queued) &&
           ax__now_ns() - atomic_load_explicit(&q.waiting_since,
                                               memory_order_relaxed) >=
               (uint64_t)STARVE_MS * 1000000;
}

/* Whether the writer thread is to write now: thread_writes(), or a
 * failing database's retry is due. Under lock. */
static bool thread_attempts(void)
{
    if (!atomic_load(&ax__crash_queued))
        return false;
    if (atomic_load(&q.failing))
        return q.stop || q.retry_now || retry_due();
    return thread_writes() || starving();
}

/* Whether a checkpoint may be done now: no scheduler is kept from a core
 * by it (one sleeps, or a core is spare), it has waited CKPT_WAIT_MS for
 * that (the schedulers all busy: the WAL is not to grow without end), or
 * the log closes. Under lock. */
static bool checkpoint_allowed(void)
{
    return ax__sched_spare_core() || atomic_load(&ax__node.nsleeping) > 0 ||
           q.stop ||
           ax__now_ns() - q.checkpoint_asked >=
               (uint64_t)CKPT_WAIT_MS * 1000000;
}

/* Waits until the writer thread has something to do: false when it is
 * to end. Under lock. */
static bool wait_for_work(void)
{
    for (;;) {
        bool some = atomic_load(&ax__crash_queued) > 0;
        bool failing = atomic_load(&q.failing);
        struct timespec until;

        if (q.stop && !some)
            return false;
        if (thread_attempts())
            return true;
        if ((q.checkpoint && checkpoint_allowed()) || (q.first && some))
            return true;
        /* A report wakes it only when it is to write it; seq_cst: see
         * enqueue. A spare core or a put-off checkpoint it looks at
         * again every RECHECK_MS. */
        atomic_store(&q.self_write, !failing && ax__sched_spare_core());
        atomic_store(&q.waiting, true);
        if (!failing && atomic_load(&q.self_write) &&
            atomic_load(&ax__crash_queued)) {
            atomic_store(&q.waiting, false);
            continue;
        }
        if (failing && some) {
            pthread_cond_timedwait(&q.work, &q.lock, &q.retry_at);
        } else if (some || q.checkpoint) {
            until = after_ms(RECHECK_MS);
            pthread_cond_timedwait(&q.work, &q.lock, &until);
        } else {
            pthread_cond_wait(&q.work, &q.lock);
        }
        atomic_store(&q.waiting, false);
    }
}

/* The writer thread; arg is its database handle, which it frees. */
static void *writer_main(void *arg)
{
    static const struct crash_db_writer thread = {.yield = true};
    struct crash_db *d = arg;

    ax__name_thread(pthread_self(), "ax-crashlog");
    pthread_mutex_lock(&q.db_lock);
    ax__crash_db_prepare(d);
    q.db = d;
    pthread_mutex_unlock(&q.db_lock);
    pthread_mutex_lock(&q.lock);
    while (wait_for_work()) {
        bool ckpt = q.checkpoint && checkpoint_allowed();
        bool first = q.first;
        bool write = thread_attempts();
        size_t batch = thread_writes() ? THREAD_BATCH : STARVE_BATCH;

        if (ckpt)
            q.checkpoint = false;
        q.first = false;
        q.retry_now = false;
        pthread_mutex_unlock(&q.lock);
        pthread_mutex_lock(&q.db_lock);
        if (ckpt)
            ax__crash_db_checkpoint(d);
        /* The commit that opens the database or starts the WAL afresh
         * waits for the disk: the thread writes it, with one report (the
         * schedulers the rest: at its normal priority, the thread takes a
         * core from one of them while it writes). */
        if ((ckpt || first) && !write && !atomic_load(&q.failing))
            attempt(FIRST_REPORTS, &thread);
        /* While it is the thread's to write, it writes on; then the
         * schedulers take over. */
        while (write && attempt(batch, &thread)) {
            pthread_mutex_lock(&q.lock);
            write = !atomic_load(&q.failing) && thread_writes();
            ckpt = ax__crash_db_checkpoint_due(d) &&
                   (q.stop || ax__sched_spare_core() ||
                    atomic_load(&ax__node.nsleeping));
            pthread_mutex_unlock(&q.lock);
            if (ckpt)
                ax__crash_db_checkpoint(d);
        }
        pthread_mutex_unlock(&q.db_lock);
        if (atomic_load(&ax__crash_queued) && !atomic_load(&q.failing))
            ax__sched_wake_idle(); /* the schedulers' to write now */
        pthread_mutex_lock(&q.lock);
        if (q.stop && atomic_load(&q.failing))
            break; /* the last attempt failed */
    }
    pthread_mutex_unlock(&q.lock);
    pthread_mutex_lock(&q.db_lock);
    q.db = NULL;
    pthread_mutex_unlock(&q.db_lock);
    ax__crash_db_free(d);
    return NULL;
}

/* Ends the writer, if one runs, after it has written what it can; what
 * it could not stays queued. */
static void stop_writer(void)
{
    pthread_mutex_lock(&q.lock);
    if (!q.has_writer) {
        pthread_mutex_unlock(&q.lock);
        return;
    }
    q.stop = true;
    pthread_cond_signal(&q.work);
    pthread_mutex_unlock(&q.lock);
    pthread_join(q.writer, NULL);
    pthread_mutex_lock(&q.lock);
    q.has_writer = false;
    q.stop = false;
    pthread_cond_broadcast(&q.settled);
    pthread_mutex_unlock(&q.lock);
}

/* --- Opening and closing -------------------------------------------------- */

static char *printf_new(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *printf_new(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

/* The database path for ax__crash_log_open(path), in a new string;
 * NULL with *err set if there is none. */
static char *resolve_path(const char *path, int *err)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    bool use_xdg = xdg && xdg[0] == '/'; /* as the XDG spec: absolute */
    char *s = NULL;

    pthread_mutex_lock(&q.lock);
    if (!path)
        path = q.chosen;
    if (path)
        s = strdup(path);
    else if (use_xdg)
        s = printf_new("%s/ax/%s.db", xdg, q.node_next);
    else if (home && home[0])
        s = printf_new("%s/.local/state/ax/%s.db", home, q.node_next);
    pthread_mutex_unlock(&q.lock);
    *err = path || use_xdg || (home && home[0]) ? AX_ENOMEM : AX_EINVAL;
    return s;
}

/* The crash dump's path next to the database at db (NODE.db: NODE.dump),
 * in a new string; NULL when memory runs out. */
static char *dump_path_of(const char *db)
{
    size_t n = strlen(db);

    if (n > 3 && strcmp(db + n - 3, ".db") == 0)
        n -= 3;
    return printf_new("%.*s.dump", (int)n, db);
}

/*
 * Makes the fault handler write its crash dump next to the database
 * (NODE.dump), noting the node's start in it; and queues the report of
 * the dump an earlier run left there, if any. From ax__crash_log_open,
 * as the log opens, before the node's processes run (no fault can
 * replace the dump while it is read).
 */
static void import_dump(void)
{
    struct fault_dump fd;
    int err;

    if (!q.dump_path || ax__fault_set_dump_path(q.dump_path))
        return; /* the dump stays where fault.c put it: not imported */
    ax__fault_set_dump_node_start(q.node_start);
    errno = 0;
    err = ax__fault_dump_read(q.dump_path, &fd);
    if (err == AX_EINVAL && errno == ENOENT)
        return;
    if (err) {
        fprintf(stderr, "ax: crash log: cannot import the crash dump %s: %s\n",
                q.dump_path,
                err == AX_ENOMEM ? "out of memory"
                : errno          ? strerror(errno)
                                 : "not a crash dump");
        return;
    }
    enqueue(ax__crash_dump_report_new(&fd));
    ax__fault_dump_destroy(&fd);
}

int ax__crash_log_set_node(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n >= NODE_NAME_MAX || strchr(name, '/'))
        return AX_EINVAL;
    pthread_mutex_lock(&q.lock);
    memcpy(q.node_next, name, n + 1);
    pthread_mutex_unlock(&q.lock);
    return 0;
}

int ax__crash_log_open(const char *path)
{
    struct crash_db *d;
    bool fresh;
    bool is_open;
    char *p;
    int err;

    (void)ax__crash_log_idle_class(); /* before a scheduler writes */
    pthread_mutex_lock(&q.lock);
    is_open = q.open;
    pthread_mutex_unlock(&q.lock);
    if (!path && is_open)
        return 0;
    p = resolve_path(path, &err);
    if (!p)
        return err;
    stop_writer();
    pthread_mutex_lock(&q.lock);
    free(q.path);
    q.path = p;
    fresh = !q.open;
    if (fresh) {
        memcpy(q.node, q.node_next, sizeof(q.node));
        q.node_start = ax__crash_now_us();
        free(q.dump_path);
        q.dump_path = dump_path_of(q.path);
    }
    atomic_store(&q.failing, false);
    q.said_failing = false; /* a new database: its own failure is said */
    q.checkpoint = false;
    q.first = false;
    q.open = true;
    d = ax__crash_db_new(q.path, q.node, q.node_start, q.dump_path);
    q.has_writer = d && pthread_create(&q.writer, NULL, writer_main, d) == 0;
    err = q.has_writer ? 0 : AX_ENOMEM;
    pthread_mutex_unlock(&q.lock);
    if (!err && fresh)
        import_dump();
    if (!err)
        return 0;
    ax__crash_db_free(d);
    ax__crash_log_close();
    return err;
}

void ax__crash_log_close(void)
{
    struct report *last;
    struct report *r;
    size_t n = 0;

    stop_writer();
    pthread_mutex_lock(&q.db_lock);
    pthread_mutex_lock(&q.lock);
    atomic_store(&q.open, false);
    while (atomic_load(&q.pushing)) /* a report on its way in */
        sched_yield();
    r = take(SIZE_MAX, &last);
    for (struct report *i = r; i; i = i->next)
        n++;
    atomic_store(&ax__crash_queued, 0);
    atomic_store(&q.bytes, 0);
    q.done += n;
    atomic_fetch_add(&q.dropped, n);
    pthread_cond_broadcast(&q.settled);
    pthread_mutex_unlock(&q.lock);
    pthread_mutex_unlock(&q.db_lock);
    if (n)
        fprintf(stderr,
                "ax: crash log: %zu reports could not be written "
                "to %s and are lost\n",
                n, q.path);
    while (r) {
        struct report *next = r->next;

        free(r);
        r = next;
    }
}

int ax__crash_log_flush(void)
{
    uint64_t target;
    uint64_t enough;
    int err;

    pthread_mutex_lock(&q.lock);
    target = atomic_load(&q.accepted);
    /* An attempt under way may have taken its reports before the caller
     * queued its own: wait for the one after it too. */
    enough = q.attempts + (q.busy ? 2 : 1);
    q.retry_now = true;
    pthread_cond_signal(&q.work);
    while (q.has_writer && q.done < target &&
           !(atomic_load(&q.failing) && q.attempts >= enough)) {
        if (target < q.flush_at)
            q.flush_at = target;
        pthread_cond_wait(&q.settled, &q.lock);
    }
    err = q.done >= target && q.open ? 0 : AX_ESTATE;
    pthread_mutex_unlock(&q.lock);
    return err;
}

void ax__crash_log_set_limits(const struct crash_log_limits *limits)
{
    struct crash_log_limits l = limits ? *limits : (struct crash_log_limits){0};

    if (!l.max_rows)
        l.max_rows = DEFAULT_MAX_ROWS;
    if (!l.max_age_s)
        l.max_age_s = DEFAULT_MAX_AGE_S;
    if (!l.max_queued)
        l.max_queued = DEFAULT_MAX_QUEUED;
    if (!l.max_queued_bytes)
        l.max_queued_bytes = DEFAULT_MAX_QUEUED_BYTES;
    if (!l.retry_ms)
        l.retry_ms = DEFAULT_RETRY_MS;
    pthread_mutex_lock(&q.lock);
    q.limits = l;
    atomic_store(&q.max_queued, l.max_queued);
    atomic_store(&q.max_queued_bytes, l.max_queued_bytes);
    pthread_mutex_unlock(&q.lock);
}

char *ax__crash_log_path(int64_t *node_start)
{
    char *p = NULL;

    pthread_mutex_lock(&q.lock);
    if (q.open && q.path)
        p = strdup(q.path);
    *node_start = q.node_start;
    pthread_mutex_unlock(&q.lock);
    return p;
}

void ax__crash_log_stats(struct crash_log_stats *out)
{
    pthread_mutex_lock(&q.lock);
    out->written = q.written;
    out->queued = atomic_load(&ax__crash_queued);
    out->dropped = atomic_load(&q.dropped);
    out->failing = atomic_load(&q.failing);
    pthread_mutex_unlock(&q.lock);
}

int ax_crash_log_set_path(const char *path)
{
    char *copy = NULL;
    int err = 0;

    if (path && !path[0])
        return AX_EINVAL;
    if (path && !(copy = strdup(path)))
        return AX_ENOMEM;
    pthread_mutex_lock(&q.lock);
    if (q.open) {
        err = AX_ESTATE;
    } else {
        free(q.chosen);
        q.chosen = copy;
        copy = NULL;
    }
    pthread_mutex_unlock(&q.lock);
    free(copy);
    return err;
}
