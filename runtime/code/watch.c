/*
 * watch.c - reloading modules whose files change (ax_module_watch).
 *
 * One thread per node, started at the first watch, waits in poll() on an
 * inotify instance and on an eventfd that tells it to stop. It watches
 * the directories of the watched files, since builds replace files as
 * often as they rewrite them (IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE). A
 * change of a watched file sets that watch's deadline DEBOUNCE_MS ahead,
 * and each further change moves it again, so a file written in several
 * steps is loaded once it has settled. A reload loads the file as a new
 * version unless it is the very file the current version came from (a
 * module compiled in place has just been loaded by ax_module_compile);
 * a failure leaves the current version, and is logged to stderr once for
 * each state of the file.
 *
 * Invariants: the list, `running` and `closed` change only under `lock`;
 * the descriptors are set before the thread starts and closed after it is
 * joined. The thread reloads without the lock. Watches of files in one
 * directory share its inotify watch descriptor, removed with the last.
 */
#include "module.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "../core/alloc.h"
#include "../core/thread.h"
#include "../proc/mailbox.h"
#include "../sched/sched.h"

#define DEBOUNCE_MS 20
#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)

struct watch {
    ax_term_t name;        /* the module */
    char *path;            /* its file, absolute */
    const char *base;      /* the file's name in its directory, in path */
    int wd;                /* of the directory */
    uint64_t due_ms;       /* when to reload; 0: no change pending */
    bool failed;           /* failed_at is the file that failed to load */
    struct stat failed_at;
    struct watch *next;
};

static struct {
    pthread_mutex_t lock;
    struct watch *list;
    pthread_t thread;
    bool running;          /* the thread exists */
    bool closed;           /* no thread may start */
    int ifd;               /* inotify */
    int efd;               /* eventfd: stop */
} w = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, false, false, -1, -1};

/* --- The list ------------------------------------------------------------ */

/* With lock held. */
static struct watch **find_watch(ax_term_t name)
{
    struct watch **p = &w.list;

    while (*p && (*p)->name != name)
        p = &(*p)->next;
    return p;
}

/* With lock held: removes *p, and its directory's watch if it was the
 * last of that directory. */
static void drop_watch(struct watch **p)
{
    struct watch *e = *p;
    bool shared = false;

    *p = e->next;
    for (struct watch *o = w.list; o; o = o->next)
        shared |= o->wd == e->wd;
    if (!shared)
        inotify_rm_watch(w.ifd, e->wd);
    ax__free(e->path);
    ax__free(e);
}

/* With lock held: watches path for module name. */
static int add_watch(ax_term_t name, const char *path)
{
    struct watch *e = ax__calloc(1, sizeof(*e));
    char *dir;
    int err = AX_ENOMEM;

    if (!e || !(e->path = ax__code_printf("%s", path)))
        goto out_free;
    e->base = strrchr(e->path, '/') + 1;
    dir = ax__code_printf("%.*s", e->base - e->path > 1
                                      ? (int)(e->base - e->path - 1) : 1,
                          e->path);
    if (!dir)
        goto out_free;
    e->wd = inotify_add_watch(w.ifd, dir, WATCH_MASK);
    ax__free(dir);
    if (e->wd < 0) {
        err = errno == ENOENT ? AX_ENOMODULE : AX_ESYSLIMIT;
        goto out_free;
    }
    e->name = name;
    e->next = w.list;
    w.list = e;
    return 0;
out_free:
    if (e)
        ax__free(e->path);
    ax__free(e);
    return err;
}

/* --- The thread ---------------------------------------------------------- */

/* How long poll may wait: until the nearest deadline, or forever. */
static int next_timeout(void)
{
    uint64_t now = ax__now_ms();
    uint64_t due = 0;

    pthread_mutex_lock(&w.lock);
    for (struct watch *e = w.list; e; e = e->next)
        if (e->due_ms && (!due || e->due_ms < due))
            due = e->due_ms;
    pthread_mutex_unlock(&w.lock);
    if (!due)
        return -1;
    return due <= now ? 0 : (int)(due - now);
}

/* Sets the deadline of the watches an event concerns (all of them if
 * the kernel's queue overflowed). */
static void note_event(const struct inotify_event *ev, uint64_t due)
{
    pthread_mutex_lock(&w.lock);
    for (struct watch *e = w.list; e; e = e->next)
        if ((ev->mask & IN_Q_OVERFLOW) ||
            (ev->wd == e->wd && ev->len && !strcmp(ev->name, e->base)))
            e->due_ms = due;
    pthread_mutex_unlock(&w.lock);
}

static void read_events(void)
{
    char buf[4096]
        __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;

    while ((n = read(w.ifd, buf, sizeof(buf))) > 0) {
        uint64_t due = ax__now_ms() + DEBOUNCE_MS;

        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const void *)p;

            note_event(ev, due);
            p += sizeof(*ev) + ev->len;
        }
    }
}

/* Loads a watched file again, unless it is the file already loaded or
 * one that failed before; *failed_at (*failed) records a failure. */
static void reload(ax_term_t name, const char *path, bool *failed,
                   struct stat *failed_at)
{
    struct stat st;
    char *msg = NULL;
    int err;

    if (stat(path, &st) || ax__module_file_is_current(name, &st) ||
        (*failed && ax__code_same_file(failed_at, &st)))
        return;
    err = ax__module_load_file(path, name, NULL, &msg);
    *failed = err != 0;
    if (err) {
        *failed_at = st;
        fprintf(stderr, "ax: reload failed, the loaded version stays: "
                "%s\n", msg ? msg : path);
    }
    free(msg);
}

/* Takes one watch whose deadline has passed: its name, a copy of its
 * path and its failure record; false if there is none. */
static bool take_due(ax_term_t *name, char **path, bool *failed,
                     struct stat *failed_at)
{
    uint64_t now = ax__now_ms();
    struct watch *e;

    pthread_mutex_lock(&w.lock);
    for (e = w.list; e && !(e->due_ms && e->due_ms <= now); e = e->next)
        ;
    if (e) {
        e->due_ms = 0;
        *name = e->name;
        *path = ax__code_printf("%s", e->path);
        *failed = e->failed;
        *failed_at = e->failed_at;
    }
    pthread_mutex_unlock(&w.lock);
    return e;
}

/* Records the outcome of a reload in name's watch, if it still is. */
static void put_back(ax_term_t name, const char *path, bool failed,
                     const struct stat *failed_at)
{
    struct watch *e;

    pthread_mutex_lock(&w.lock);
    e = *find_watch(name);
    if (e && !strcmp(e->path, path)) {
        e->failed = failed;
        e->failed_at = *failed_at;
    }
    pthread_mutex_unlock(&w.lock);
}

static void reload_due(void)
{
    ax_term_t name;
    char *path;
    bool failed;
    struct stat failed_at;

    while (take_due(&name, &path, &failed, &failed_at)) {
        if (path) {
            reload(name, path, &failed, &failed_at);
            put_back(name, path, failed, &failed_at);
        }
        ax__free(path);
    }
}

static void *watch_main(void *arg)
{
    struct pollfd fds[2] = {{w.ifd, POLLIN, 0}, {w.efd, POLLIN, 0}};

    (void)arg;
    ax__name_thread(pthread_self(), "ax-watch");
    for (;;) {
        int n = poll(fds, 2, next_timeout());

        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && fds[1].revents)
            break;
        if (n > 0 && fds[0].revents)
            read_events();
        reload_due();
    }
    ax__msg_cache_flush(); /* the envelopes this thread took */
    return NULL;
}

/* With lock held: makes the descriptors and starts the thread. */
static int start(void)
{
    w.ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    w.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w.ifd >= 0 && w.efd >= 0 &&
        !pthread_create(&w.thread, NULL, watch_main, NULL)) {
        w.running = true;
        return 0;
    }
    if (w.ifd >= 0)
        close(w.ifd);
    if (w.efd >= 0)
        close(w.efd);
    w.ifd = w.efd = -1;
    return AX_ESYSLIMIT;
}

/* --- The interface ------------------------------------------------------- */

int ax__watch_set(ax_term_t name, const char *path, bool on)
{
    struct watch **p;
    int err = 0;

    pthread_mutex_lock(&w.lock);
    if (on && w.closed) {
        err = AX_ESTATE;
    } else {
        p = find_watch(name);
        if (*p)
            drop_watch(p);
        if (on && !w.running)
            err = start();
        if (on && !err)
            err = add_watch(name, path);
    }
    pthread_mutex_unlock(&w.lock);
    return err;
}

void ax__watch_open(void)
{
    pthread_mutex_lock(&w.lock);
    w.closed = false;
    pthread_mutex_unlock(&w.lock);
}

void ax__watch_close(void)
{
    bool running;

    pthread_mutex_lock(&w.lock);
    w.closed = true;
    running = w.running;
    if (running)
        eventfd_write(w.efd, 1);
    pthread_mutex_unlock(&w.lock);
    if (running)
        pthread_join(w.thread, NULL);
    pthread_mutex_lock(&w.lock);
    while (w.list)
        drop_watch(&w.list);
    if (running) {
        close(w.ifd);
        close(w.efd);
        w.ifd = w.efd = -1;
        w.running = false;
    }
    pthread_mutex_unlock(&w.lock);
}
