/*
 * log.c - the crash log (log.h): the queue between the processes that
 * report and the one writer thread, and the log's life. Reports are built
 * by log_report.c and written by log_db.c, whose opening comment has the
 * schema.
 *
 * Locking: q.lock guards the queue and every field of q; a process holds
 * it to append one report, and the writer only to take the whole queue
 * and to settle what it wrote, never across SQLite. So queueing costs a
 * scheduler a short critical section, whatever the database does.
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* --- The queue ------------------------------------------------------------ */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;    /* the writer waits for reports here */
    pthread_cond_t settled; /* flushers wait for the writer here */
    struct report *head;    /* oldest first */
    struct report *tail;
    size_t count; /* reports in memory: queued or in hand */
    size_t bytes;
    uint64_t accepted; /* reports ever queued */
    uint64_t done;     /* of those, committed or dropped */
    uint64_t written;
    uint64_t dropped;
    uint64_t attempts; /* write attempts finished */
    struct crash_log_limits limits;
    bool open; /* reports are accepted */
    bool has_writer;
    bool stop;                /* the writer is to write what it can, end */
    bool waiting;             /* the writer waits on `work` */
    bool busy;                /* the writer is in an attempt */
    bool retry_now;           /* a flusher wants an attempt */
    bool failing;             /* the last attempt failed */
    struct timespec retry_at; /* when failing: the next attempt */
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
    .limits = {DEFAULT_MAX_ROWS, DEFAULT_MAX_AGE_S, DEFAULT_MAX_QUEUED,
               DEFAULT_MAX_QUEUED_BYTES, DEFAULT_RETRY_MS},
    .node_next = "nonode",
};

/* Queues r, or drops it (NULL: memory ran out building it). */
static void enqueue(struct report *r)
{
    bool fits;

    pthread_mutex_lock(&q.lock);
    fits = r && q.open && q.count < q.limits.max_queued &&
           r->size <= q.limits.max_queued_bytes - q.bytes;
    if (fits) {
        if (q.tail)
            q.tail->next = r;
        else
            q.head = r;
        q.tail = r;
        q.count++;
        q.bytes += r->size;
        q.accepted++;
        if (q.waiting)
            pthread_cond_signal(&q.work);
    } else {
        q.dropped++;
    }
    pthread_mutex_unlock(&q.lock);
    if (!fits)
        free(r);
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
    if (!is_clean(reason))
        enqueue(ax__crash_report_new(p, reason));
}

/* Whether the queue is past its high-water mark (PRESS_PART of its
 * bounds), or, with `easing`, not yet back under half of it. Under
 * q.lock. */
static bool pressed(bool easing)
{
    size_t reports = q.limits.max_queued / PRESS_PART;
    size_t bytes = q.limits.max_queued_bytes / PRESS_PART;

    if (easing) {
        reports /= 2;
        bytes /= 2;
    }
    return q.count >= reports || q.bytes >= bytes;
}

/* Holds the calling process back while the queue is past its high-water
 * mark and the writer is making headway, so that what makes reports
 * goes at the pace the database takes them. It sleeps as a process
 * does: its scheduler runs the others meanwhile. */
static void pace(void)
{
    bool wait;

    pthread_mutex_lock(&q.lock);
    wait = pressed(false);
    while (wait && q.has_writer && !q.failing) {
        pthread_mutex_unlock(&q.lock);
        ax_sleep(PACE_MS);
        pthread_mutex_lock(&q.lock);
        wait = pressed(true);
    }
    pthread_mutex_unlock(&q.lock);
}

void ax__crash_sup_report(const ax_sup_report_t *report)
{
    enqueue(ax__crash_sup_report_new(report));
    if (ax__proc_self())
        pace();
}

/* --- The writer ----------------------------------------------------------- */

static bool retry_due(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec > q.retry_at.tv_sec ||
           (now.tv_sec == q.retry_at.tv_sec &&
            now.tv_nsec >= q.retry_at.tv_nsec);
}

/* Waits until there is something to write and an attempt is due;
 * false when the writer is to end. Under q.lock. */
static bool wait_for_work(void)
{
    for (;;) {
        if (q.head && (!q.failing || q.stop || q.retry_now || retry_due()))
            return true;
        if (q.stop)
            return false;
        q.waiting = true;
        if (q.failing && q.head)
            pthread_cond_timedwait(&q.work, &q.lock, &q.retry_at);
        else
            pthread_cond_wait(&q.work, &q.lock);
        q.waiting = false;
    }
}

/* Says once on stderr that the database cannot be written, or that it
 * can again. */
static void say(const struct crash_db *d, bool failing,
                const struct crash_log_limits *l)
{
    if (failing)
        fprintf(stderr,
                "ax: crash log: cannot write %s: %s; keeping up to %zu "
                "reports in memory and retrying\n",
                q.path, ax__crash_db_error(d), l->max_queued);
    else
        fprintf(stderr, "ax: crash log: writing to %s again\n", q.path);
}

/* After an attempt: what was written leaves the count, what was not goes
 * back to the front of the queue. Under q.lock. */
static void settle(struct report *rest, struct report *rest_tail, uint64_t n,
                   size_t bytes, unsigned retry_ms)
{
    q.count -= n;
    q.bytes -= bytes;
    q.done += n;
    q.written += n;
    q.failing = rest != NULL;
    q.busy = false;
    q.attempts++;
    if (rest) {
        rest_tail->next = q.head;
        q.head = rest;
        if (!q.tail)
            q.tail = rest_tail;
        clock_gettime(CLOCK_REALTIME, &q.retry_at);
        q.retry_at.tv_sec += retry_ms / 1000;
        q.retry_at.tv_nsec += (long)(retry_ms % 1000) * 1000000;
        if (q.retry_at.tv_nsec >= 1000000000) {
            q.retry_at.tv_sec++;
            q.retry_at.tv_nsec -= 1000000000;
        }
    }
    pthread_cond_broadcast(&q.settled);
}

/* The writer thread; arg is its database handle, which it frees. */
static void *writer_main(void *arg)
{
    struct crash_db *d = arg;
    bool failing = false;

    pthread_setname_np(pthread_self(), "ax-crashlog"); /* for top, perf */
    ax__crash_db_prepare(d);
    pthread_mutex_lock(&q.lock);
    while (wait_for_work()) {
        struct report *batch = q.head;
        struct report *batch_tail = q.tail;
        struct crash_log_limits l = q.limits;
        struct report *rest;
        uint64_t n = 0;
        size_t bytes = 0;

        q.head = q.tail = NULL;
        q.retry_now = false;
        q.busy = true;
        pthread_mutex_unlock(&q.lock);
        rest = ax__crash_db_write(d, batch, &l, &n, &bytes);
        if ((rest != NULL) != failing)
            say(d, rest != NULL, &l);
        failing = rest != NULL;
        pthread_mutex_lock(&q.lock);
        settle(rest, batch_tail, n, bytes, l.retry_ms);
        if (rest && q.stop)
            break; /* the last attempt failed */
    }
    pthread_mutex_unlock(&q.lock);
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
    q.failing = false;
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
    struct report *r;
    size_t n;

    stop_writer();
    pthread_mutex_lock(&q.lock);
    r = q.head;
    n = q.count;
    q.head = q.tail = NULL;
    q.count = 0;
    q.bytes = 0;
    q.done += n;
    q.dropped += n;
    q.open = false;
    pthread_cond_broadcast(&q.settled);
    pthread_mutex_unlock(&q.lock);
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
    target = q.accepted;
    /* An attempt under way may have taken its reports before the caller
     * queued its own: wait for the one after it too. */
    enough = q.attempts + (q.busy ? 2 : 1);
    q.retry_now = true;
    if (q.waiting)
        pthread_cond_signal(&q.work);
    while (q.has_writer && q.done < target &&
           !(q.failing && q.attempts >= enough))
        pthread_cond_wait(&q.settled, &q.lock);
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
    out->queued = q.count;
    out->dropped = q.dropped;
    out->failing = q.failing;
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
