/*
 * log_report.c - crash and supervisor reports (log.h), built in the
 * process they are about: the dying process, whose struct proc, heap and
 * queue are still whole (its exit hook runs before they go), or the
 * supervisor, whose report's terms live during its hook only. So
 * everything is printed here, to text, and the report outlives both.
 * The report of a crash dump (a fault that killed an earlier run of the
 * node) is built from the dump read back, at the log's opening.
 *
 * Every printed term is bounded (ax_format_opts_t), and a backtrace has
 * at most AX_BACKTRACE_MAX frames, so a report is some kilobytes at
 * most: a huge state or message cannot make one huge.
 */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../code/module.h"
#include "../term/scan.h"
#include "dump.h"
#include "fault.h"

#define REASON_CHARS 2048
#define STATE_CHARS 4096
#define LAST_MESSAGE_CHARS 2048
#define TERM_CHARS 256 /* a child id */
#define MESSAGE_CHARS 512
#define MAILBOX_SHOWN 5
#define PIDS_SHOWN 32

int64_t ax__crash_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* --- Building ------------------------------------------------------------- */

/* A report being built: a struct report, then its text. */
struct builder {
    char *buf;
    size_t len;
    size_t cap;
    bool failed; /* out of memory: the report is dropped */
};

static bool builder_init(struct builder *b, bool sup)
{
    struct report *r;

    b->cap = 512;
    b->len = sizeof(*r);
    b->failed = false;
    b->buf = malloc(b->cap);
    if (!b->buf)
        return false;
    r = (struct report *)b->buf;
    memset(r, 0, sizeof(*r));
    for (unsigned i = 0; i < CF_COUNT; i++)
        r->off[i] = NO_FIELD;
    r->sup = sup;
    r->time_us = ax__crash_now_us();
    return true;
}

static bool reserve(struct builder *b, size_t n)
{
    size_t cap = b->cap;
    char *p;

    if (b->failed)
        return false;
    while (cap - b->len < n)
        cap *= 2;
    if (cap == b->cap)
        return true;
    p = realloc(b->buf, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->buf = p;
    b->cap = cap;
    return true;
}

static void put(struct builder *b, const char *s, size_t n)
{
    if (reserve(b, n)) {
        memcpy(b->buf + b->len, s, n);
        b->len += n;
    }
}

static void put_str(struct builder *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Starts field f at the current end; end_field closes it. */
static void begin_field(struct builder *b, unsigned f)
{
    ((struct report *)b->buf)->off[f] = (uint32_t)b->len;
}

static void end_field(struct builder *b)
{
    put(b, "", 1);
}

static void field_text(struct builder *b, unsigned f, const char *s, size_t n)
{
    begin_field(b, f);
    put(b, s, n);
    end_field(b);
}

/* Appends t printed, bounded to about max_chars. A plain atom (the
 * commonest reason) is its text, as ax_format prints it, without the
 * printer's buffer. */
static void put_term(struct builder *b, ax_term_t t, size_t max_chars)
{
    ax_format_opts_t o = {
        .max_depth = 16, .max_width = 32, .max_chars = max_chars};
    size_t n;
    const char *a = ax_is_atom(t) ? ax_atom_text(t, &n) : NULL;
    char *s;

    if (a && n <= max_chars && ax__scan_is_bare_atom(a, n)) {
        put(b, a, n);
        return;
    }
    s = ax_format(t, &o, &n);

    if (!s) {
        b->failed = true;
        return;
    }
    put(b, s, n);
    free(s);
}

static void field_str(struct builder *b, unsigned f, const char *s)
{
    field_text(b, f, s, strlen(s));
}

static void field_term(struct builder *b, unsigned f, ax_term_t t,
                       size_t max_chars)
{
    if (t == AX_NONE)
        return;
    begin_field(b, f);
    put_term(b, t, max_chars);
    end_field(b);
}

static void field_atom(struct builder *b, unsigned f, ax_term_t atom)
{
    size_t n;
    const char *s = ax_atom_text(atom, &n);

    if (s)
        field_text(b, f, s, n);
}

/* Writes v in decimal ending just before end; returns where it starts. */
static char *decimal(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* "<N.I.S>", as ax_format prints a pid; by hand, not snprintf: a crash
 * storm prints three a report, in the dying process (the time its
 * scheduler's other processes wait). */
static void put_pid(struct builder *b, ax_term_t pid)
{
    char s[64];
    char *end = s + sizeof(s);
    char *p = end;

    *--p = '>';
    p = decimal(p, pid_serial(pid));
    *--p = '.';
    p = decimal(p, pid_number(pid));
    *--p = '.';
    p = decimal(p, pid_node(pid));
    *--p = '<';
    put(b, p, (size_t)(end - p));
}

/* A pid's text; anything that is not a pid is NULL. */
static void field_pid(struct builder *b, unsigned f, ax_term_t pid)
{
    if (!term_is_pid(pid))
        return;
    begin_field(b, f);
    put_pid(b, pid);
    end_field(b);
}

/* "[P1, P2, ...]": the first n of total pids. */
static void field_pids(struct builder *b, unsigned f, const ax_term_t *pids,
                       size_t n, size_t total)
{
    begin_field(b, f);
    put_str(b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            put_str(b, ", ");
        put_pid(b, pids[i]);
    }
    put_str(b, total > n ? ", ...]" : "]");
    end_field(b);
}

/* The report built, or NULL (freed) if memory ran out. */
static struct report *builder_finish(struct builder *b)
{
    struct report *r;

    if (b->failed) {
        free(b->buf);
        return NULL;
    }
    r = realloc(b->buf, b->len); /* gives the slack back */
    if (!r)
        r = (struct report *)b->buf;
    r->size = b->len;
    return r;
}

/* --- What a dying process leaves ------------------------------------------ */

static void field_module(struct builder *b, struct proc *p)
{
    /* Relaxed: p's code is written by p itself, which runs this. */
    struct module_version *v =
        atomic_load_explicit(&p->code, memory_order_relaxed);
    const char *vsn;

    if (!v)
        return;
    field_atom(b, CF_MODULE, ax__version_module(v));
    vsn = ax__version_desc(v)->version;
    if (vsn)
        field_str(b, CF_VERSION, vsn);
}

/* The first messages of p's queue, as a list. */
static void field_mailbox(struct builder *b, const struct proc *p)
{
    const struct msg *m = p->queue;
    size_t i = 0;

    begin_field(b, CF_MAILBOX);
    put_str(b, "[");
    for (; m && i < MAILBOX_SHOWN; m = m->qnext, i++) {
        if (i)
            put_str(b, ", ");
        put_term(b, m->term, MESSAGE_CHARS);
    }
    put_str(b, m ? ", ...]" : "]");
    end_field(b);
}

static void field_links(struct builder *b, const struct proc_ext *e)
{
    size_t n = e ? e->nlinks : 0;

    field_pids(b, CF_LINKS, e ? e->links : NULL,
               n < PIDS_SHOWN ? n : PIDS_SHOWN, n);
}

static void field_monitors(struct builder *b, const struct proc_ext *e)
{
    ax_term_t pids[PIDS_SHOWN];
    size_t total = e ? e->nmonitors : 0;
    size_t n = total < PIDS_SHOWN ? total : PIDS_SHOWN;

    for (size_t i = 0; i < n; i++)
        pids[i] = e->monitors[i].pid;
    field_pids(b, CF_MONITORS, pids, n, total);
}

static size_t heap_words(const struct proc *p)
{
    ax_heap_stats_t st;

    if (!p->heap)
        return 0;
    ax_heap_stats(p->heap, &st);
    return st.heap_size + st.old_heap_size;
}

struct report *ax__crash_report_new(struct proc *p, ax_term_t reason)
{
    struct builder b;
    const char *bt;
    struct report *r;

    if (!builder_init(&b, false))
        return NULL;
    field_pid(&b, CF_PID, atomic_load_explicit(&p->pid, memory_order_relaxed));
    if (p->name != AX_NONE)
        field_atom(&b, CF_NAME, p->name);
    field_module(&b, p);
    field_term(&b, CF_REASON, reason, REASON_CHARS);
    field_term(&b, CF_LAST_MESSAGE, p->last_msg, LAST_MESSAGE_CHARS);
    if (p->kind == PK_HANDLER)
        field_term(&b, CF_STATE, p->state_term, STATE_CHARS);
    field_mailbox(&b, p);
    field_links(&b, p->ext);
    field_monitors(&b, p->ext);
    field_pids(&b, CF_ANCESTORS, &p->parent, term_is_pid(p->parent), 0);
    if ((bt = ax__fault_backtrace()))
        field_str(&b, CF_BACKTRACE, bt);
    r = builder_finish(&b);
    if (r) {
        r->num[N_MAILBOX_LEN] = (int64_t)p->queue_len;
        /* With the running slice's, which its end has not added yet. */
        r->num[N_REDUCTIONS] =
            (int64_t)p->reductions + (SLICE_REDUCTIONS - p->budget);
        r->num[N_HEAP_WORDS] = (int64_t)heap_words(p);
    }
    return r;
}

static const char *event_name(ax_sup_event_t e)
{
    switch (e) {
    case AX_SUP_RESTART:
        return "restart";
    case AX_SUP_GIVE_UP:
        return "give_up";
    case AX_SUP_START_ERROR:
        return "start_error";
    case AX_SUP_SHUTDOWN_KILL:
        return "shutdown_kill";
    }
    return "unknown";
}

struct report *ax__crash_sup_report_new(const ax_sup_report_t *s)
{
    struct builder b;
    const char *event = event_name(s->event);
    struct report *r;

    if (!builder_init(&b, true))
        return NULL;
    field_pid(&b, SF_SUPERVISOR, s->supervisor);
    if (ax_is_atom(s->sup_name))
        field_atom(&b, SF_SUP_NAME, s->sup_name);
    field_str(&b, SF_EVENT, event);
    field_term(&b, SF_CHILD_ID, s->child_id, TERM_CHARS);
    field_pid(&b, SF_CHILD_PID, s->child_pid);
    field_pid(&b, SF_NEW_PID, s->new_pid);
    field_term(&b, SF_REASON, s->reason, REASON_CHARS);
    r = builder_finish(&b);
    if (r)
        r->num[N_RESTARTS] = (int64_t)s->restarts;
    return r;
}

/* --- What a fatal fault left ---------------------------------------------- */

/* The dump's text without its map and frame lines (the frames are in the
 * backtrace, symbolised; the maps served to symbolise them). */
static void put_dump_text(struct builder *b, const char *text)
{
    while (*text) {
        const char *end = strchr(text, '\n');
        size_t n = end ? (size_t)(end - text) + 1 : strlen(text);

        if (strncmp(text, "map: ", 5) != 0 && strncmp(text, "frame: ", 7) != 0)
            put(b, text, n);
        text += n;
    }
}

struct report *ax__crash_dump_report_new(const struct fault_dump *d)
{
    const char *sig = d->signal[0] ? d->signal : "unknown";
    bool has_addr = strcmp(sig, "sigsegv") == 0 || strcmp(sig, "sigbus") == 0;
    char reason[64];
    struct builder b;
    struct report *r;

    if (!builder_init(&b, false))
        return NULL;
    /* As a process's {signal, Name[, Address]}. */
    if (has_addr)
        snprintf(reason, sizeof(reason), "{fatal, %s, %llu}", sig,
                 (unsigned long long)d->address);
    else
        snprintf(reason, sizeof(reason), "{fatal, %s}", sig);
    field_str(&b, CF_PID, d->running[0] ? d->running : "none");
    field_str(&b, CF_REASON, reason);
    if (d->backtrace)
        field_str(&b, CF_BACKTRACE, d->backtrace);
    begin_field(&b, CF_DUMP);
    put_dump_text(&b, d->text);
    end_field(&b);
    r = builder_finish(&b);
    if (r) {
        r->from_dump = true;
        r->node_start = d->node_start;
        if (d->time_us)
            r->time_us = d->time_us;
    }
    return r;
}
