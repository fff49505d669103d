/*
 * backtrace.c - capturing and symbolising native backtraces
 * (backtrace.h).
 *
 * Invariants: `session` and the symbolisation stack (below) are touched
 * only with `lock` held; `busy` is set exactly while this thread holds
 * `lock`; once `broken` is set nothing calls into libdw again (a fault
 * inside it may have left it, or the allocator, half-updated), and
 * symbolisation is raw.
 */
#include "backtrace.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <execinfo.h>
#include <inttypes.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/tls.h"
#include "../proc/ctx.h"

#define SYM_STACK_SIZE (1024u * 1024)

/* A growing string; on allocation failure it stays what it was and
 * remembers the failure. */
struct text {
    char *s;
    size_t len;
    size_t cap;
    bool failed;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Dwfl *session;                /* this process's modules */
static unsigned long long seen_adds; /* the dynamic linker's counts */
static unsigned long long seen_subs; /* when session was reported */
static bool broken;                  /* libdw faulted: never again */
static AX_TLS bool busy;

__attribute__((no_sanitize("address", "undefined"))) size_t
ax__backtrace_walk(uintptr_t pc, uintptr_t fp, uintptr_t lo, uintptr_t hi,
                   uintptr_t *out, size_t max)
{
    const size_t rec = 2 * sizeof(uintptr_t);
    size_t n = 0;

    if (max == 0)
        return 0;
    out[n++] = pc;
    if (hi < lo || hi - lo < rec)
        return n;
    while (n < max && fp >= lo && fp <= hi - rec &&
           fp % sizeof(uintptr_t) == 0) {
        const uintptr_t *frame = (const uintptr_t *)fp;
        uintptr_t next = frame[0];
        uintptr_t ret = frame[1];

        if (ret == 0)
            break;
        out[n++] = ret;
        if (next <= fp)
            break; /* the chain must climb, or it loops */
        fp = next;
    }
    return n;
}

__attribute__((format(printf, 2, 3))) static void add(struct text *t,
                                                      const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->failed)
        return;
    va_start(ap, fmt);
    n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt,
                  ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= t->cap - t->len || !t->s) {
        size_t cap = t->cap ? t->cap : 256;
        char *s;

        while (cap - t->len <= (size_t)n)
            cap *= 2;
        s = realloc(t->s, cap);
        if (!s) {
            t->failed = true;
            return;
        }
        t->s = s;
        t->cap = cap;
        va_start(ap, fmt);
        vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
    }
    t->len += (size_t)n;
}

/* The text's string for the caller to own: "" if nothing was added, NULL
 * if memory ran out. */
static char *finish(struct text *t)
{
    if (t->failed) {
        free(t->s);
        return NULL;
    }
    return t->s ? t->s : strdup("");
}

/*
 * Separate debug files are looked for locally only: with DEBUGINFOD_URLS
 * set, libdw's standard search would also ask a debuginfod server, which
 * can block the scheduler thread recovering from a fault for as long as
 * the network takes.
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata,
                          const char *modname, Dwarf_Addr base,
                          const char *file_name, const char *debuglink,
                          GElf_Word crc, char **debuginfo_file_name)
{
    const char *urls = getenv("DEBUGINFOD_URLS");

    if (urls && *urls)
        return -1;
    return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name,
                                        debuglink, crc, debuginfo_file_name);
}

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = find_debuginfo,
};

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

/* file, relative to the directory its compilation unit was built in
 * when it lies below it. */
static const char *source_name(Dwfl_Module *m, Dwarf_Addr a, const char *file)
{
    Dwarf_Addr bias;
    Dwarf_Die *cu = dwfl_module_addrdie(m, a, &bias);
    Dwarf_Attribute attr;
    const char *dir;
    size_t n;

    if (!cu)
        return file;
    dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
    if (!dir)
        return file;
    n = strlen(dir);
    if (n && strncmp(file, dir, n) == 0 && file[n] == '/')
        return file + n + 1;
    return file;
}

/* Appends frame i, at pc, looked up at a. */
static void add_frame(struct text *t, Dwfl *d, size_t i, uintptr_t pc,
                      uintptr_t a)
{
    Dwfl_Module *m = d ? dwfl_addrmodule(d, a) : NULL;
    Dwarf_Addr start = 0;
    Dwarf_Addr end = 0;
    const char *name = NULL;
    const char *fn;
    const char *file = NULL;
    Dwfl_Line *line;
    int lineno = 0;

    if (m)
        name = dwfl_module_info(m, NULL, &start, &end, NULL, NULL, NULL, NULL);
    if (!m || a < start || a >= end) {
        add(t, "#%zu 0x%" PRIxPTR "\n", i, pc);
        return;
    }
    fn = dwfl_module_addrname(m, a);
    line = dwfl_module_getsrc(m, a);
    if (line)
        file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
    add(t, "#%zu 0x%" PRIxPTR " %s (%s", i, pc, fn ? fn : "??",
        name ? base_name(name) : "??");
    if (!fn)
        add(t, "+0x%" PRIxPTR, pc - (uintptr_t)start);
    add(t, ")");
    if (file)
        add(t, " %s:%d", source_name(m, a, file), lineno);
    add(t, "\n");
}

/* Formats pcs with d (NULL: raw addresses). */
static char *format(Dwfl *d, const uintptr_t *pcs, size_t n, bool exact_first)
{
    struct text t = {0};

    for (size_t i = 0; i < n && i < AX_BACKTRACE_MAX; i++) {
        uintptr_t a = pcs[i];

        if ((i > 0 || !exact_first) && a > 0)
            a--; /* inside the call, not after it */
        add_frame(&t, d, i, pcs[i], a);
    }
    return finish(&t);
}

static int read_counts(struct dl_phdr_info *info, size_t size, void *arg)
{
    unsigned long long *c = arg;

    if (size >=
        offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
        c[0] = info->dlpi_adds;
        c[1] = info->dlpi_subs;
    }
    return 1; /* the first object tells */
}

/* With lock held: (re)reports this process's modules when the dynamic
 * linker has loaded or unloaded objects since. Returns the session, or
 * NULL if there is none to be had. */
static Dwfl *report(void)
{
    unsigned long long c[2] = {0, 0};

    dl_iterate_phdr(read_counts, c);
    if (session && c[0] == seen_adds && c[1] == seen_subs)
        return session;
    if (!session && !(session = dwfl_begin(&callbacks)))
        return NULL;
    dwfl_report_begin(session);
    if (dwfl_linux_proc_report(session, getpid()) != 0) {
        dwfl_report_end(session, NULL, NULL);
        dwfl_end(session);
        session = NULL;
        return NULL;
    }
    dwfl_report_end(session, NULL, NULL);
    seen_adds = c[0];
    seen_subs = c[1];
    return session;
}

/* A request for the symbolisation stack. */
struct job {
    const uintptr_t *pcs;
    size_t n;
    bool exact_first;
    const char *maps; /* for a gone process's addresses, or NULL */
    char *result;
};

/* Appends to t the lines of maps whose file still has the inode it had. */
static void keep_unchanged(struct text *t, const char *maps)
{
    const char *line = maps;

    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        unsigned long ino = 0;
        int path = 0;
        char file[4096];
        struct stat st;

        if (sscanf(line, "%*x-%*x %*s %*x %*s %lu %n", &ino, &path) >= 1 &&
            path > 0 && (size_t)path < len &&
            len - (size_t)path < sizeof(file)) {
            memcpy(file, line + path, len - (size_t)path);
            file[len - (size_t)path] = '\0';
            if (stat(file, &st) == 0 && st.st_ino == ino)
                add(t, "%.*s\n", (int)len, line);
        }
        line += len + (end ? 1 : 0);
    }
}

/* A session of its own for the modules of a gone process. */
static Dwfl *report_maps(const char *maps)
{
    struct text kept = {0};
    Dwfl *d = NULL;
    FILE *f = NULL;

    keep_unchanged(&kept, maps);
    if (kept.len && !kept.failed)
        f = fmemopen(kept.s, kept.len, "r");
    if (f && (d = dwfl_begin(&callbacks))) {
        dwfl_report_begin(d);
        if (dwfl_linux_proc_maps_report(d, f) == 0) {
            dwfl_report_end(d, NULL, NULL);
        } else {
            dwfl_end(d);
            d = NULL;
        }
    }
    if (f)
        fclose(f);
    free(kept.s);
    return d;
}

static void do_job(struct job *j)
{
    Dwfl *d;

    if (!j->maps) {
        d = report();
        j->result = format(d, j->pcs, j->n, j->exact_first);
        return;
    }
    d = report_maps(j->maps);
    j->result = format(d, j->pcs, j->n, j->exact_first);
    dwfl_end(d);
}

/*
 * libdw wants deep stacks (reading a line table takes some 160 KB), more
 * than a process's stack may have left: jobs run on a stack of their
 * own, one context that the lock's holder switches to and that switches
 * back when done.
 */
static struct ctx sym_ctx;
static struct ctx *sym_back; /* whom to resume, while a job runs */
static struct job *sym_job;
static bool sym_ready;

static void sym_main(void *arg)
{
    (void)arg;
    for (;;) {
        do_job(sym_job);
        ax__ctx_switch(&sym_ctx, sym_back);
    }
}

/* With lock held: maps the symbolisation stack, below a guard page. */
static bool make_sym_stack(void)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t guard = page > 0 ? (size_t)page : 4096;
    char *m = mmap(NULL, guard + SYM_STACK_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

    if (m == MAP_FAILED)
        return false;
    if (mprotect(m, guard, PROT_NONE) != 0) {
        munmap(m, guard + SYM_STACK_SIZE);
        return false;
    }
    ax__ctx_init(&sym_ctx, m + guard, SYM_STACK_SIZE, sym_main, NULL);
    sym_ready = true;
    return true;
}

/* Runs j on the symbolisation stack; raw addresses if there is none. */
static char *run(struct job *j)
{
    struct ctx here;

    if (busy) /* re-entered: the lock is this thread's already */
        return format(NULL, j->pcs, j->n, j->exact_first);
    pthread_mutex_lock(&lock);
    busy = true;
    if (broken || (!sym_ready && !make_sym_stack())) {
        j->result = format(NULL, j->pcs, j->n, j->exact_first);
    } else {
        ax__ctx_init_thread(&here);
        sym_job = j;
        sym_back = &here;
        ax__ctx_switch(&here, &sym_ctx);
    }
    busy = false;
    pthread_mutex_unlock(&lock);
    return j->result;
}

char *ax__backtrace_symbolise(const uintptr_t *pcs, size_t n, bool exact_first)
{
    struct job j = {pcs, n, exact_first, NULL, NULL};

    return run(&j);
}

char *ax__backtrace_symbolise_maps(const uintptr_t *pcs, size_t n,
                                   bool exact_first, const char *maps)
{
    struct job j = {pcs, n, exact_first, maps ? maps : "", NULL};

    return run(&j);
}

bool ax__backtrace_busy(void)
{
    return busy;
}

void ax__backtrace_abandon(void)
{
    if (!busy)
        return;
    broken = true; /* the session, and the symbolisation stack's context,
                    * are left as the fault found them, never used again */
    session = NULL;
    busy = false;
    pthread_mutex_unlock(&lock);
}

__attribute__((noinline)) char *ax__backtrace_now(int skip)
{
    void *frames[AX_BACKTRACE_MAX + 1];
    uintptr_t pcs[AX_BACKTRACE_MAX];
    int got = backtrace(frames, AX_BACKTRACE_MAX + 1);
    size_t n = 0;

    /* frames[0] is in this function: the caller's frame is frames[1]. */
    for (int i = 1 + (skip > 0 ? skip : 0); i < got; i++)
        pcs[n++] = (uintptr_t)frames[i];
    return ax__backtrace_symbolise(pcs, n, false);
}
