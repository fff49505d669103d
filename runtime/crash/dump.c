/*
 * dump.c - the fatal fault's message and crash dump, written from the
 * signal handler, and the dump read back (dump.h).
 *
 * Everything above ax__fault_set_dump_path runs in a signal handler:
 * it formats with its own code into buffers of fixed size and calls only
 * open, read, write, close, mkdir, getpid, clock_gettime and syscall
 * (gettid), which are async-signal-safe; it takes no lock and allocates
 * nothing. The static buffers are safe because only one thread at a time
 * gets here (fault.c lets one through). The path it writes to is made
 * beforehand, in ordinary context.
 */
#include "dump.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../sched/sched.h"

#define NODE_NAME "nonode" /* until nodes have names */

/* Formatted output into buf, written to fd when full (fd < 0: kept,
 * and cut at the end of buf). */
struct out {
    int fd;
    size_t n;
    char buf[512];
};

static char dump_path[PATH_MAX];
static bool dump_path_set;
static int64_t dump_node_start;
static char dir_scratch[PATH_MAX]; /* for making the directories */
static char what[512];             /* the summary line */
static char maps_buf[4096];        /* reading /proc/self/maps */
static char maps_line[4096];

/* --- Async-signal-safe formatting --------------------------------------- */

static void out_flush(struct out *o)
{
    size_t done = 0;

    if (o->fd < 0)
        return;
    while (done < o->n) {
        ssize_t w = write(o->fd, o->buf + done, o->n - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    o->n = 0;
}

static void out_mem(struct out *o, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (o->n == sizeof(o->buf)) {
            if (o->fd < 0)
                return;
            out_flush(o);
        }
        o->buf[o->n++] = s[i];
    }
}

static void out_str(struct out *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

static void out_u64(struct out *o, uint64_t v)
{
    char d[20];
    size_t i = sizeof(d);

    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_mem(o, d + i, sizeof(d) - i);
}

static void out_i64(struct out *o, int64_t v)
{
    if (v < 0) {
        out_str(o, "-");
        out_u64(o, (uint64_t)0 - (uint64_t)v);
        return;
    }
    out_u64(o, (uint64_t)v);
}

static void out_hex(struct out *o, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char d[16];
    size_t i = sizeof(d);

    do {
        d[--i] = digits[v & 15];
        v >>= 4;
    } while (v);
    out_str(o, "0x");
    out_mem(o, d + i, sizeof(d) - i);
}

/* n as exactly width digits. */
static void out_fixed(struct out *o, uint64_t n, unsigned width)
{
    char d[20];

    for (unsigned i = width; i-- > 0; n /= 10)
        d[i] = (char)('0' + n % 10);
    out_mem(o, d, width);
}

static void out_pid(struct out *o, uint64_t pid)
{
    out_str(o, "<");
    out_u64(o, pid_node(pid));
    out_str(o, ".");
    out_u64(o, pid_number(pid));
    out_str(o, ".");
    out_u64(o, pid_serial(pid));
    out_str(o, ">");
}

/* ISO 8601 in UTC, from microseconds since the epoch (H. Hinnant's
 * civil_from_days: gmtime is not async-signal-safe). */
static void out_time(struct out *o, int64_t us)
{
    int64_t secs = us / 1000000;
    int64_t days = secs / 86400 - (secs % 86400 < 0);
    int64_t sod = secs - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned day = doy - (153 * mp + 2) / 5 + 1;
    unsigned month = mp < 10 ? mp + 3 : mp - 9;

    out_i64(o, (int64_t)yoe + era * 400 + (month <= 2));
    out_str(o, "-");
    out_fixed(o, month, 2);
    out_str(o, "-");
    out_fixed(o, day, 2);
    out_str(o, "T");
    out_fixed(o, (uint64_t)sod / 3600, 2);
    out_str(o, ":");
    out_fixed(o, (uint64_t)sod / 60 % 60, 2);
    out_str(o, ":");
    out_fixed(o, (uint64_t)sod % 60, 2);
    out_str(o, ".");
    out_fixed(o, (uint64_t)(us % 1000000 + 1000000) % 1000000, 6);
    out_str(o, "Z");
}

static const char *signal_name(int sig, bool upper)
{
    switch (sig) {
    case SIGSEGV:
        return upper ? "SIGSEGV" : "sigsegv";
    case SIGBUS:
        return upper ? "SIGBUS" : "sigbus";
    case SIGFPE:
        return upper ? "SIGFPE" : "sigfpe";
    case SIGILL:
        return upper ? "SIGILL" : "sigill";
    case SIGABRT:
        return upper ? "SIGABRT" : "sigabrt";
    default:
        return upper ? "a signal" : "unknown";
    }
}

/* Whether si_addr is an address the fault is about. */
static bool has_address(const struct fault_report *r)
{
    return r->code > 0 && r->sig != SIGABRT;
}

/* --- The message -------------------------------------------------------- */

static void out_where(struct out *o, const struct fault_report *r)
{
    if (r->sched < 0) {
        out_str(o, "in thread ");
        out_i64(o, (int64_t)syscall(SYS_gettid));
        out_str(o, ", which is not a scheduler");
        return;
    }
    out_str(o, "in scheduler ");
    out_u64(o, (uint64_t)r->sched);
    if (r->recovering) {
        out_str(o, " while ending ");
        out_pid(o, r->running);
        out_str(o, " after its own fault");
    } else if (r->no_recovery) {
        out_str(o, " in process ");
        out_pid(o, r->running);
        out_str(o, ", which cannot be ended (no recovery stack)");
    } else {
        out_str(o, ", outside any process (in the runtime)");
    }
}

/* The summary, into `what`. */
static void make_what(const struct fault_report *r)
{
    struct out o = {.fd = -1};

    out_str(&o, signal_name(r->sig, true));
    if (r->code <= 0 && r->sender == getpid()) {
        out_str(&o, " raised by the program (abort or raise)");
    } else if (r->code <= 0) {
        out_str(&o, " sent by process ");
        out_i64(&o, r->sender);
    } else if (has_address(r)) {
        out_str(&o, " at address ");
        out_hex(&o, r->addr);
    }
    out_str(&o, " (pc ");
    out_hex(&o, r->pc);
    out_str(&o, ") ");
    out_where(&o, r);
    out_str(&o, ": the node dies");
    o.n = o.n < sizeof(what) - 1 ? o.n : sizeof(what) - 1;
    memcpy(what, o.buf, o.n);
    what[o.n] = '\0';
}

/* --- /proc/self/maps -------------------------------------------------- */

static uintptr_t parse_hex(const char **s)
{
    uintptr_t v = 0;

    for (;; (*s)++) {
        char c = **s;

        if (c >= '0' && c <= '9')
            v = v * 16 + (uintptr_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (uintptr_t)(c - 'a' + 10);
        else
            return v;
    }
}

/* Calls fn on each line of /proc/self/maps (NUL-terminated, without its
 * newline, cut at sizeof(maps_line) - 1) until it returns false. */
static bool each_mapping(bool (*fn)(const char *line, size_t len, void *arg),
                         void *arg)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    size_t n = 0;
    ssize_t got;

    if (fd < 0)
        return false;
    while ((got = read(fd, maps_buf, sizeof(maps_buf))) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            break;
        for (ssize_t i = 0; i < got; i++) {
            if (maps_buf[i] != '\n') {
                if (n < sizeof(maps_line) - 1)
                    maps_line[n++] = maps_buf[i];
                continue;
            }
            maps_line[n] = '\0';
            if (!fn(maps_line, n, arg))
                goto out_close;
            n = 0;
        }
    }
out_close:
    close(fd);
    return true;
}

struct range {
    uintptr_t addr;
    uintptr_t lo;
    uintptr_t hi;
};

static bool find_range(const char *line, size_t len, void *arg)
{
    struct range *r = arg;
    uintptr_t lo = parse_hex(&line);
    uintptr_t hi;

    (void)len;
    if (*line++ != '-')
        return true;
    hi = parse_hex(&line);
    if (r->addr < lo || r->addr >= hi)
        return true;
    r->lo = lo;
    r->hi = hi;
    return false;
}

bool ax__fault_dump_mapping(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
    struct range r = {.addr = addr};

    if (!each_mapping(find_range, &r) || r.hi == 0)
        return false;
    *lo = r.lo;
    *hi = r.hi;
    return true;
}

static bool put_file_mapping(const char *line, size_t len, void *arg)
{
    if (strchr(line, '/')) {
        out_str(arg, "map: ");
        out_mem(arg, line, len);
        out_str(arg, "\n");
    }
    return true;
}

/* --- The dump ----------------------------------------------------------- */

static void put_scheds(struct out *o)
{
    struct node *n = &ax__node;
    struct sched *ss = n->scheds;
    unsigned count = n->nscheds;

    out_str(o, "processes: ");
    out_u64(o, ax__ptab_count());
    out_str(o, "\nschedulers: ");
    out_u64(o, ss ? count : 0);
    out_str(o, "\nglobal_runq: ");
    out_u64(o, atomic_load_explicit(&n->global_len, memory_order_relaxed));
    out_str(o, "\n");
    for (unsigned i = 0; ss && i < count; i++) {
        struct sched *s = &ss[i];
        /* Racy reads of another thread's fields: a snapshot for the
         * dump, taken as the process dies. */
        struct proc *p = *(struct proc *volatile *)&s->current;
        uint32_t head = atomic_load_explicit(&s->rq_head, memory_order_relaxed);
        uint32_t tail = atomic_load_explicit(&s->rq_tail, memory_order_relaxed);
        bool next = *(struct proc *volatile *)&s->runnext != NULL;

        out_str(o, "sched: ");
        out_u64(o, s->id);
        if (p) {
            out_str(o, " running ");
            out_pid(o, atomic_load_explicit(&p->pid, memory_order_relaxed));
        } else {
            out_str(o, atomic_load_explicit(&s->sleeping, memory_order_relaxed)
                           ? " sleeping"
                           : " idle");
        }
        out_str(o, " runq ");
        out_u64(o, (uint32_t)(tail - head) + (next ? 1u : 0u));
        out_str(o, "\n");
    }
}

static void put_header(struct out *o, const struct fault_report *r)
{
    struct timespec ts;
    int64_t us;

    clock_gettime(CLOCK_REALTIME, &ts);
    us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    out_str(o, "format: ax-crash-dump 1\nwhat: ");
    out_str(o, what);
    out_str(o, "\ntime: ");
    out_time(o, us);
    out_str(o, "\ntime_us: ");
    out_i64(o, us);
    out_str(o, "\nnode_start: ");
    out_i64(o, dump_node_start);
    out_str(o, "\nos_pid: ");
    out_i64(o, getpid());
    out_str(o, "\nsignal: ");
    out_str(o, signal_name(r->sig, false));
    out_str(o, "\nsigno: ");
    out_i64(o, r->sig);
    out_str(o, "\ncode: ");
    out_i64(o, r->code);
    out_str(o, "\naddress: ");
    out_hex(o, r->addr);
    out_str(o, "\npc: ");
    out_hex(o, r->pc);
    out_str(o, "\n");
}

static void put_thread(struct out *o, const struct fault_report *r)
{
    out_str(o, "thread: ");
    if (r->sched >= 0) {
        out_str(o, "scheduler ");
        out_u64(o, (uint64_t)r->sched);
    } else {
        out_str(o, "other");
    }
    out_str(o, "\ntid: ");
    out_i64(o, (int64_t)syscall(SYS_gettid));
    out_str(o, "\nrunning: ");
    if (r->running)
        out_pid(o, r->running);
    else
        out_str(o, "none");
    out_str(o, r->recovering ? "\nrecovering: yes\n" : "\nrecovering: no\n");
}

static void put_dump(int fd, const struct fault_report *r)
{
    struct out o = {.fd = fd};

    put_header(&o, r);
    put_thread(&o, r);
    for (size_t i = 0; i < r->npcs; i++) {
        out_str(&o, "frame: ");
        out_hex(&o, r->pcs[i]);
        out_str(&o, "\n");
    }
    out_flush(&o); /* out before the racy reads of other threads' state */
    put_scheds(&o);
    out_flush(&o);
    each_mapping(put_file_mapping, &o);
    out_str(&o, "end: ok\n");
    out_flush(&o);
}

/* Makes the directories above dump_path (mode 0700). */
static void make_dirs(void)
{
    size_t len = strlen(dump_path);

    memcpy(dir_scratch, dump_path, len + 1);
    for (size_t i = 1; i < len; i++) {
        if (dir_scratch[i] != '/')
            continue;
        dir_scratch[i] = '\0';
        mkdir(dir_scratch, 0700); /* EEXIST is fine; other errors show
                                   * when the file cannot be opened */
        dir_scratch[i] = '/';
    }
}

/* Writes the dump; returns 0 or the errno that stopped it. */
static int write_dump(const struct fault_report *r)
{
    int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW;
    int fd = open(dump_path, flags, 0600);

    if (fd < 0 && errno == ENOENT) {
        make_dirs();
        fd = open(dump_path, flags, 0600);
    }
    if (fd < 0)
        return errno;
    put_dump(fd, r);
    close(fd);
    return 0;
}

void ax__fault_dump_fatal(const struct fault_report *r)
{
    struct out o = {.fd = STDERR_FILENO};
    int err = ENOENT;

    make_what(r);
    out_str(&o, "ax: fatal: ");
    out_str(&o, what);
    out_str(&o, "\nax: backtrace:");
    for (size_t i = 0; i < r->npcs; i++) {
        out_str(&o, " ");
        out_hex(&o, r->pcs[i]);
    }
    out_str(&o, "\n");
    out_flush(&o);
    if (dump_path[0])
        err = write_dump(r);
    if (!dump_path[0]) {
        out_str(&o, "ax: no crash dump: neither XDG_STATE_HOME nor HOME is "
                    "set\n");
    } else if (err) {
        out_str(&o, "ax: no crash dump: cannot write ");
        out_str(&o, dump_path);
        out_str(&o, " (errno ");
        out_i64(&o, err);
        out_str(&o, ")\n");
    } else {
        out_str(&o, "ax: crash dump written to ");
        out_str(&o, dump_path);
        out_str(&o, "\n");
    }
    out_flush(&o);
}

/* --- Ordinary context: the path, and reading a dump back --------------- */

int ax__fault_set_dump_path(const char *path)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    int n = 0;

    if (path) {
        if (!*path || strlen(path) >= sizeof(dump_path))
            return AX_EINVAL;
        memcpy(dump_path, path, strlen(path) + 1);
        dump_path_set = true;
        return 0;
    }
    dump_path_set = false;
    /* XDG: a relative XDG_STATE_HOME is invalid and to be ignored. */
    if (xdg && xdg[0] == '/')
        n = snprintf(dump_path, sizeof(dump_path), "%s/ax/%s.dump", xdg,
                     NODE_NAME);
    else if (home && home[0])
        n = snprintf(dump_path, sizeof(dump_path), "%s/.local/state/ax/%s.dump",
                     home, NODE_NAME);
    else
        dump_path[0] = '\0';
    if (n < 0 || (size_t)n >= sizeof(dump_path)) {
        dump_path[0] = '\0';
        return AX_EINVAL;
    }
    return 0;
}

void ax__fault_set_dump_node_start(int64_t us)
{
    dump_node_start = us;
}

const char *ax__fault_dump_path(void)
{
    if (!dump_path_set)
        ax__fault_set_dump_path(NULL);
    return dump_path;
}

/* The whole file at path, NUL-terminated, in *text. */
static int slurp(const char *path, char **text)
{
    FILE *f = fopen(path, "re");
    char *s = NULL;
    size_t len = 0;
    size_t cap = 0;
    size_t got;

    if (!f)
        return AX_EINVAL;
    do {
        if (cap - len < 4096) {
            char *grown = realloc(s, cap ? cap * 2 : 8192);

            if (!grown) {
                free(s);
                fclose(f);
                return AX_ENOMEM;
            }
            s = grown;
            cap = cap ? cap * 2 : 8192;
        }
        got = fread(s + len, 1, cap - len - 1, f);
        len += got;
    } while (got > 0);
    fclose(f);
    s[len] = '\0';
    *text = s;
    return 0;
}

/* Appends value (len bytes) and a newline to *dst. */
static int append_line(char **dst, size_t *len, const char *value, size_t n)
{
    char *grown = realloc(*dst, *len + n + 2);

    if (!grown)
        return AX_ENOMEM;
    memcpy(grown + *len, value, n);
    grown[*len + n] = '\n';
    grown[*len + n + 1] = '\0';
    *dst = grown;
    *len += n + 1;
    return 0;
}

/* The lengths of the joined `sched:` and `map:` values so far. */
struct joined {
    size_t scheds;
    size_t maps;
};

static void copy_value(char *dst, size_t size, const char *v, size_t n)
{
    n = n < size - 1 ? n : size - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* Takes one `key: value` line into d. */
static int take(struct fault_dump *d, struct joined *j, const char *key,
                size_t klen, const char *v, size_t n)
{
#define IS(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
    if (IS("what"))
        return (d->what = strndup(v, n)) ? 0 : AX_ENOMEM;
    if (IS("sched"))
        return append_line(&d->schedulers, &j->scheds, v, n);
    if (IS("map"))
        return append_line(&d->maps, &j->maps, v, n);
    if (IS("frame") && d->nframes < AX_BACKTRACE_MAX)
        d->frames[d->nframes++] = (uintptr_t)strtoull(v, NULL, 16);
    else if (IS("time_us"))
        d->time_us = strtoll(v, NULL, 10);
    else if (IS("node_start"))
        d->node_start = strtoll(v, NULL, 10);
    else if (IS("os_pid"))
        d->os_pid = strtol(v, NULL, 10);
    else if (IS("signal"))
        copy_value(d->signal, sizeof(d->signal), v, n);
    else if (IS("signo"))
        d->signo = (int)strtol(v, NULL, 10);
    else if (IS("code"))
        d->code = (int)strtol(v, NULL, 10);
    else if (IS("address"))
        d->address = strtoull(v, NULL, 16);
    else if (IS("pc"))
        d->pc = strtoull(v, NULL, 16);
    else if (IS("thread"))
        d->sched = strncmp(v, "scheduler ", 10) == 0
                       ? (int)strtol(v + 10, NULL, 10)
                       : -1;
    else if (IS("tid"))
        d->tid = strtol(v, NULL, 10);
    else if (IS("running") && !(n == 4 && memcmp(v, "none", 4) == 0))
        copy_value(d->running, sizeof(d->running), v, n);
    else if (IS("recovering"))
        d->recovering = n == 3 && memcmp(v, "yes", 3) == 0;
    else if (IS("end"))
        d->complete = n == 2 && memcmp(v, "ok", 2) == 0;
    return 0;
#undef IS
}

/* Parses d->text into d. */
static int parse(struct fault_dump *d)
{
    static const char magic[] = "format: ax-crash-dump 1\n";
    struct joined j = {0, 0};
    const char *line = d->text;

    if (strncmp(line, magic, sizeof(magic) - 1) != 0)
        return AX_EINVAL;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *colon = memchr(line, ':', len);
        int err;

        if (colon && colon + 1 < line + len && colon[1] == ' ') {
            err = take(d, &j, line, (size_t)(colon - line), colon + 2,
                       len - (size_t)(colon - line) - 2);
            if (err)
                return err;
        }
        line += len + (end ? 1 : 0);
    }
    return 0;
}

int ax__fault_dump_read(const char *path, struct fault_dump *out)
{
    int err;

    memset(out, 0, sizeof(*out));
    out->sched = -1;
    err = slurp(path, &out->text);
    if (!err)
        err = parse(out);
    if (!err) {
        out->backtrace = ax__backtrace_symbolise_maps(out->frames, out->nframes,
                                                      true, out->maps);
        if (!out->backtrace)
            err = AX_ENOMEM;
    }
    if (err)
        ax__fault_dump_destroy(out);
    return err;
}

void ax__fault_dump_destroy(struct fault_dump *d)
{
    if (!d)
        return;
    free(d->what);
    free(d->schedulers);
    free(d->maps);
    free(d->backtrace);
    free(d->text);
    memset(d, 0, sizeof(*d));
    d->sched = -1;
}
