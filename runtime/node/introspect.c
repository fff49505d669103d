/*
 * introspect.c - what a client may ask about the node: the process list,
 * one process, the supervision trees, the node's counters. Run in a
 * session's proxy process (request.c).
 *
 * The process list is computed here, so that a client asking for the top
 * 20 of a million processes gets 20 rows: one pass over the process
 * table reads each process's published fields (pid, state, name,
 * reductions, mailbox length, function), racily, as an observer may: a
 * process struct is never freed while the node runs (proc.h), so a read
 * is at worst stale. The pass keeps only the best offset + limit rows
 * of those the filter keeps, in a bounded heap: nothing is copied per
 * process. A heap belongs to its process and may be freed at any
 * moment, so heap sizes come from ax_process_info (a signal the process
 * answers): for the rows returned, and for every process only when the
 * list is sorted by heap or memory.
 *
 *   {processes, #{sort => Column, order => asc | desc, offset => N,
 *                 limit => N, filter => Text}}
 *   -> {ok, #{total => Matching, offset => N, rows => [Row]}}
 *
 * Column: pid, name, initial_call, reductions, mailbox, heap, memory,
 * status, current, gcs, reds_per_s (default reductions; order desc for
 * numbers, asc for the rest; limit 50, at most 10000). Filter keeps rows
 * whose name, initial call or status contains Text. A Row is #{pid,
 * name, initial_call, reductions, mailbox, heap, memory, status,
 * current, gcs, version (a module's process: its module's version, an
 * atom; else undefined)}, and reds_per_s when sorted by it: the reductions per
 * second since the session's previous request sorted so (rates.c; 0 at
 * the first). Sorting by gcs asks every process, as heap and memory do.
 */
#include "node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../code/supervisor.h"
#include "../code/module.h"
#include "../core/assert.h"
#include "../crash/backtrace.h"
#include "../crash/log.h"
#include "../mem/heap.h"
#include "../sched/sched.h"
#include "rates.h"
#include "../term/atom.h"

#define LIMIT_DEFAULT 50
#define LIMIT_MAX 10000
/* Distinct functions remembered by name. */
#define FN_CACHE 256

enum column {
    COL_PID, COL_NAME, COL_INITIAL, COL_REDS, COL_MAILBOX, COL_HEAP,
    COL_MEMORY, COL_STATUS, COL_CURRENT, COL_GCS, COL_RATE, NCOLUMNS
};

static const char *const column_names[NCOLUMNS] = {
    "pid", "name", "initial_call", "reductions", "mailbox", "heap",
    "memory", "status", "current", "gcs", "reds_per_s"
};

struct row {
    ax_term_t pid;
    ax_term_t name;        /* an atom, or AX_NONE */
    void *fn;
    uint64_t reductions;
    uint64_t mailbox;
    uint64_t heap;         /* words; filled when known */
    uint64_t memory;
    uint64_t gcs;          /* minor and major collections, when known */
    uint64_t rate;         /* reductions per second, when asked */
    uint8_t status;        /* ax_proc_status_t */
    bool receiving;
    ax_term_t module;      /* a module's process: its name, or AX_NONE */
    ax_term_t version;     /* and its version (an atom), or AX_NONE */
};

/* --- Function names ------------------------------------------------------ */

/* fn -> "Module:Function" text, symbolised once (libdw knows static
 * functions too, which dladdr does not). */
static struct fn_name {
    void *fn;
    char text[96];
} fn_cache[FN_CACHE];
static pthread_mutex_t fn_lock = PTHREAD_MUTEX_INITIALIZER;

/* Parses "#0 0xADDR NAME (MOD) ..." into "MOD:NAME". */
static void parse_frame(const char *line, char *out, size_t size)
{
    char name[64] = "?";
    char mod[64] = "c";

    if (sscanf(line, "#0 %*s %63s (%63[^)])", name, mod) < 1)
        snprintf(name, sizeof(name), "?");
    mod[strcspn(mod, ".")] = '\0';
    snprintf(out, size, "%s:%s", mod[0] ? mod : "c", name);
}

/* Copies fn's text into out. Any thread. */
static void fn_text(void *fn, char *out, size_t size);

/* A row's initial call as text: "Module:init" for a module's process (a
 * gen_server: its code is the module's), else its function's. */
static void initial_text(const struct row *r, char *out, size_t size)
{
    size_t len = 0;
    const char *m = r->module != AX_NONE ? ax_atom_text(r->module, &len)
                                         : NULL;

    if (m)
        snprintf(out, size, "%.*s:init", (int)len, m);
    else
        fn_text(r->fn, out, size);
}

static void fn_text(void *fn, char *out, size_t size)
{
    size_t i = ((uintptr_t)fn >> 4) % FN_CACHE;
    uintptr_t pc = (uintptr_t)fn;
    char *line;

    pthread_mutex_lock(&fn_lock);
    if (fn_cache[i].fn != fn) {
        line = ax__backtrace_symbolise(&pc, 1, true);
        parse_frame(line ? line : "", fn_cache[i].text,
                    sizeof(fn_cache[i].text));
        free(line);
        fn_cache[i].fn = fn;
    }
    snprintf(out, size, "%s", fn_cache[i].text);
    pthread_mutex_unlock(&fn_lock);
}

/* {Module, Function, 1} of fn, on h. */
static ax_term_t fn_term(ax_heap_t *h, void *fn)
{
    char text[96];
    char *colon;

    fn_text(fn, text, sizeof(text));
    colon = strchr(text, ':');
    *colon = '\0';
    return ax_tuple(h, 3, ax_atom(text), ax_atom(colon + 1),
                    ax_int(h, 1));
}

static bool is_supervisor_fn(void *fn)
{
    char t[96] = "";
    const char *colon;

    if (fn)
        fn_text(fn, t, sizeof(t));
    colon = strchr(t, ':');

    return colon && strcmp(colon + 1, "sup_body") == 0;
}

/* --- The snapshot ------------------------------------------------------- */

struct order;

/* The pass over the process table: every row kept (rows[0..n)), or,
 * when `top` is set, only the k best of those the filter keeps (a
 * bounded heap, the worst on top), counting the matches in kept. */
struct snap {
    struct row *rows;
    size_t n;
    size_t cap;
    bool failed;
    const struct order *top;
    const char *filter;
    size_t k;
    size_t kept;
    struct rates *rates;   /* when sorted by rate */
};

static bool row_matches(const struct row *r, const char *filter);
static void heap_push(struct row *rows, size_t *m, size_t k,
                      const struct row *r, const struct order *o);

/* The observer's status of a process state (ax_proc_status_t order). */
static uint8_t status_of(uint32_t state)
{
    static const uint8_t by_state[] = {
        [PS_FREE] = 4, [PS_WAITING] = AX_PS_WAITING,
        [PS_RUNNABLE] = AX_PS_RUNNABLE, [PS_RUNNING] = AX_PS_RUNNING,
        [PS_EXITING] = AX_PS_EXITING};

    return state < sizeof(by_state) ? by_state[state] : AX_PS_RUNNABLE;
}

static const char *status_text(unsigned st)
{
    static const char *const names[] = {"runnable", "running", "waiting",
                                        "exiting"};

    return st < 4 ? names[st] : "exited";
}

/* Reads p's published fields (see the top of the file) into r. */
static void read_row(struct proc *p, ax_term_t pid, struct row *r);

/* Keeps p's row, as the snap asks. */
static void snap_one(struct proc *p, void *arg)
{
    struct snap *sn = arg;
    struct row *r;
    ax_term_t pid = atomic_load_explicit(&p->pid, memory_order_acquire);

    if (!pid || sn->failed)
        return;
    if (sn->top) {
        struct row one;

        read_row(p, pid, &one);
        if (sn->rates) /* every process, for the next request's rates */
            one.rate = ax__rates_note(sn->rates, pid, one.reductions);
        if (!row_matches(&one, sn->filter))
            return;
        sn->kept++;
        heap_push(sn->rows, &sn->n, sn->k, &one, sn->top);
        return;
    }
    if (sn->n == sn->cap) {
        size_t cap = sn->cap ? 2 * sn->cap : 1024;
        struct row *rows = reallocarray(sn->rows, cap, sizeof(*rows));

        if (!rows) {
            sn->failed = true;
            return;
        }
        sn->rows = rows;
        sn->cap = cap;
    }
    r = &sn->rows[sn->n++];
    read_row(p, pid, r);
}

static void read_row(struct proc *p, ax_term_t pid, struct row *r)
{
    memset(r, 0, sizeof(*r));
    r->pid = pid;
    r->name = p->name;
    r->fn = p->kind == PK_HANDLER ? (void *)p->fn.handler : (void *)p->fn.body;
    r->module = atomic_load_explicit(&p->module, memory_order_relaxed);
    r->version = atomic_load_explicit(&p->version, memory_order_relaxed);
    r->reductions = p->reductions;
    r->mailbox = p->queue_len;
    r->status = status_of(atomic_load_explicit(&p->state,
                                               memory_order_relaxed));
    r->receiving = (p->flags & PF_RECEIVING) && p->kind == PK_BODY;
}

/* Asks the process for what only it may read (its heap). */
static void fill_heap(struct row *r)
{
    ax_process_info_t info;
    ax_heap_t *h = ax_heap_new();

    if (h && ax_process_info(r->pid, h, &info) == 0) {
        r->heap = info.heap.heap_size + info.heap.old_heap_size;
        r->memory = info.memory;
        r->gcs = info.heap.minor_gcs + info.heap.major_gcs;
        r->status = (uint8_t)info.status;
    } else {
        r->status = 4; /* gone since the snapshot */
    }
    ax_heap_free(h);
}

/* --- Sorting and selecting --------------------------------------------- */

struct order {
    enum column col;
    bool desc;
};

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

static int cmp_text(const char *a, const char *b)
{
    int c = strcmp(a, b);

    return c < 0 ? -1 : c > 0;
}

static int cmp_name(ax_term_t a, ax_term_t b)
{
    size_t la = 0;
    size_t lb = 0;
    const char *ta = a != AX_NONE ? ax_atom_text(a, &la) : "";
    const char *tb = b != AX_NONE ? ax_atom_text(b, &lb) : "";
    int c = memcmp(ta, tb, la < lb ? la : lb);

    return c ? (c < 0 ? -1 : 1) : cmp_u64(la, lb);
}

static int cmp_fn(const struct row *a, const struct row *b, bool current)
{
    char ta[96];
    char tb[96];

    if (current && a->receiving != b->receiving)
        return a->receiving ? -1 : 1;
    if (a->fn == b->fn && a->module == b->module)
        return 0;
    initial_text(a, ta, sizeof(ta));
    initial_text(b, tb, sizeof(tb));
    return cmp_text(ta, tb);
}

/* a before b in the order asked for, ties broken by pid (ascending). */
static int row_cmp(const struct row *a, const struct row *b,
                   const struct order *o)
{
    int c = 0;

    switch (o->col) {
    case COL_NAME:
        c = cmp_name(a->name, b->name);
        break;
    case COL_INITIAL:
    case COL_CURRENT:
        c = cmp_fn(a, b, o->col == COL_CURRENT);
        break;
    case COL_REDS:
        c = cmp_u64(a->reductions, b->reductions);
        break;
    case COL_MAILBOX:
        c = cmp_u64(a->mailbox, b->mailbox);
        break;
    case COL_HEAP:
        c = cmp_u64(a->heap, b->heap);
        break;
    case COL_MEMORY:
        c = cmp_u64(a->memory, b->memory);
        break;
    case COL_GCS:
        c = cmp_u64(a->gcs, b->gcs);
        break;
    case COL_RATE:
        c = cmp_u64(a->rate, b->rate);
        break;
    case COL_STATUS:
        c = cmp_text(status_text(a->status), status_text(b->status));
        break;
    default:
        break;
    }
    if (o->desc)
        c = -c;
    return c ? c : ax_compare(a->pid, b->pid);
}

/* Puts r at hole j of the heap rows[0..m) (the worst on top), moving
 * better children up. */
static void sift_down(struct row *rows, size_t m, size_t j,
                      const struct row *r, const struct order *o)
{
    for (;;) {
        size_t c = 2 * j + 1;

        if (c >= m)
            break;
        if (c + 1 < m && row_cmp(&rows[c + 1], &rows[c], o) > 0)
            c++;
        if (row_cmp(&rows[c], r, o) <= 0)
            break;
        rows[j] = rows[c];
        j = c;
    }
    rows[j] = *r;
}

/* Offers r to the bounded heap rows[0..*m) of at most k rows, the worst
 * on top: kept if it beats the worst. O(log k). */
static void heap_push(struct row *rows, size_t *m, size_t k,
                      const struct row *r, const struct order *o)
{
    size_t j = *m;

    if (*m == k) {
        if (k && row_cmp(r, &rows[0], o) < 0)
            sift_down(rows, *m, 0, r, o);
        return;
    }
    (*m)++;
    while (j && row_cmp(&rows[(j - 1) / 2], r, o) < 0) {
        rows[j] = rows[(j - 1) / 2];
        j = (j - 1) / 2;
    }
    rows[j] = *r;
}

/* Heap order to sorted order: the worst goes to the end. */
static void heap_sort(struct row *rows, size_t k, const struct order *o)
{
    for (size_t end = k; end > 1; end--) {
        struct row top = rows[0];
        struct row last = rows[end - 1];

        sift_down(rows, end - 1, 0, &last, o);
        rows[end - 1] = top;
    }
}

/* Moves the k first rows of rows[0..n) in order o to rows[0..k), sorted:
 * a bounded heap of the k best (the worst on top), O(n log k). */
static void select_top(struct row *rows, size_t n, size_t k,
                       const struct order *o)
{
    size_t m = 0;

    if (k > n)
        k = n;
    for (size_t i = 0; i < n; i++) {
        struct row r = rows[i];

        heap_push(rows, &m, k, &r, o);
    }
    heap_sort(rows, k, o);
}

/* --- The process list ------------------------------------------------------ */

struct list_opts {
    struct order order;
    uint64_t offset;
    uint64_t limit;
    char filter[128];
};

static int64_t opt_int(ax_term_t opts, const char *key, int64_t dflt)
{
    ax_term_t v = ax_map_get(opts, ax_atom(key));
    int64_t n;

    return v != AX_NONE && ax_get_int(v, &n) == 0 && n >= 0 ? n : dflt;
}

static bool parse_list_opts(ax_term_t opts, struct list_opts *o)
{
    ax_term_t col = ax_is_map(opts) ? ax_map_get(opts, ax_atom("sort"))
                                    : AX_NONE;
    ax_term_t ord = ax_is_map(opts) ? ax_map_get(opts, ax_atom("order"))
                                    : AX_NONE;
    ax_term_t f = ax_is_map(opts) ? ax_map_get(opts, ax_atom("filter"))
                                  : AX_NONE;
    const uint8_t *text;
    size_t len = 0;

    if (!ax_is_map(opts) && opts != AX_NIL)
        return false;
    memset(o, 0, sizeof(*o));
    o->order.col = COL_REDS;
    for (unsigned c = 0; col != AX_NONE && c < NCOLUMNS; c++)
        if (col == ax_atom(column_names[c]))
            o->order.col = (enum column)c;
    o->order.desc = o->order.col == COL_REDS || o->order.col == COL_MAILBOX ||
                    o->order.col == COL_HEAP || o->order.col == COL_MEMORY ||
                    o->order.col == COL_GCS || o->order.col == COL_RATE;
    if (ord == ax_atom("asc") || ord == ax_atom("desc"))
        o->order.desc = ord == ax_atom("desc");
    if (ax_is_map(opts)) {
        o->offset = (uint64_t)opt_int(opts, "offset", 0);
        o->limit = (uint64_t)opt_int(opts, "limit", LIMIT_DEFAULT);
    } else {
        o->limit = LIMIT_DEFAULT;
    }
    if (o->limit > LIMIT_MAX)
        o->limit = LIMIT_MAX;
    if (f != AX_NONE) {
        text = ax_is_atom(f) ? (const uint8_t *)ax_atom_text(f, &len)
                             : ax_binary_data(f, &len);
        if (!text || len >= sizeof(o->filter))
            return false;
        memcpy(o->filter, text, len);
    }
    return true;
}

static bool row_matches(const struct row *r, const char *filter)
{
    char text[96];
    size_t len = 0;
    const char *name = r->name != AX_NONE ? ax_atom_text(r->name, &len) : "";

    if (!filter[0])
        return true;
    if (len < sizeof(text)) {
        memcpy(text, name, len);
        text[len] = '\0';
        if (strstr(text, filter))
            return true;
    }
    initial_text(r, text, sizeof(text));
    return strstr(text, filter) || strstr(status_text(r->status), filter);
}

static ax_term_t row_term(ax_heap_t *h, const struct row *r, bool rate)
{
    static const char *const keys[] = {"pid", "name", "initial_call",
                                       "reductions", "mailbox", "heap",
                                       "memory", "status", "current",
                                       "gcs", "version", "reds_per_s"};
    ax_term_t k[12];
    ax_term_t v[12];
    ax_term_t initial = r->module != AX_NONE
                            ? ax_tuple(h, 3, r->module, ax_atom("init"),
                                       ax_int(h, 1))
                            : fn_term(h, r->fn);

    for (size_t i = 0; i < 12; i++)
        k[i] = ax_atom(keys[i]);
    v[0] = r->pid;
    v[1] = r->name != AX_NONE ? r->name : AX_NIL;
    v[2] = initial;
    v[3] = ax_int(h, (int64_t)r->reductions);
    v[4] = ax_int(h, (int64_t)r->mailbox);
    v[5] = ax_int(h, (int64_t)r->heap);
    v[6] = ax_int(h, (int64_t)r->memory);
    v[7] = ax_atom(status_text(r->status));
    if (r->receiving)
        v[8] = ax_tuple(h, 3, ax_atom("ax"), ax_atom("receive"), ax_int(h, 4));
    else if (r->module != AX_NONE && r->status == 2) /* waiting */
        v[8] = ax_tuple(h, 3, ax_atom("gen_server"), ax_atom("loop"),
                        ax_int(h, 1));
    else
        v[8] = initial;
    v[9] = ax_int(h, (int64_t)r->gcs);
    v[10] = r->version != AX_NONE ? r->version : ax_atom("undefined");
    v[11] = ax_int(h, (int64_t)r->rate);
    return ax_map_from(h, rate ? 12 : 11, k, v);
}

/* Sets sn up to keep only the best offset + limit rows as it passes
 * (room for at most the processes there are, and a margin for those
 * born meanwhile: a heap full of them just stops growing). */
static bool stream_top(struct snap *sn, const struct list_opts *o)
{
    ax_node_stats_t ns;
    uint64_t k = o->offset + o->limit;

    if (ax_node_stats(&ns) == 0 && k > ns.processes + 1024)
        k = ns.processes + 1024;
    sn->top = &o->order;
    sn->filter = o->filter;
    sn->k = (size_t)k;
    sn->rows = reallocarray(NULL, sn->k ? sn->k : 1, sizeof(*sn->rows));
    return sn->rows != NULL;
}

/* Sorted by heap or memory: only each process knows those, so every
 * process the filter keeps is asked (a signal each: slow on a big node),
 * then the best are picked. Returns the end of the page in sn->rows. */
static size_t select_by_heap(struct snap *sn, const struct list_opts *o)
{
    size_t kept = 0;
    size_t end;

    for (size_t i = 0; i < sn->n; i++)
        if (row_matches(&sn->rows[i], o->filter))
            sn->rows[kept++] = sn->rows[i];
    for (size_t i = 0; i < kept; i++)
        fill_heap(&sn->rows[i]);
    end = o->offset + o->limit < kept ? o->offset + o->limit : kept;
    select_top(sn->rows, kept, end, &o->order);
    sn->kept = kept;
    return end;
}

ax_term_t ax__req_processes(struct session *s, ax_term_t opts)
{
    ax_heap_t *h = ax_heap();
    struct snap sn = {0};
    struct list_opts o;
    size_t end;
    bool by_heap;
    ax_term_t rows = AX_NIL;
    ax_term_t keys[3];
    ax_term_t vals[3];

    if (!parse_list_opts(opts, &o))
        return ax__request_error(h, AX_EBADARG);
    by_heap = o.order.col == COL_HEAP || o.order.col == COL_MEMORY ||
              o.order.col == COL_GCS;
    if (!by_heap && !stream_top(&sn, &o))
        return ax__request_error(h, AX_ENOMEM);
    if (o.order.col == COL_RATE) {
        sn.rates = ax__session_rates(s);
        if (!sn.rates || ax__rates_begin(sn.rates, ax__ptab_count()) != 0) {
            free(sn.rows);
            return ax__request_error(h, AX_ENOMEM);
        }
    }
    ax__ptab_foreach(snap_one, &sn);
    if (sn.rates)
        ax__rates_end(sn.rates);
    if (sn.failed) {
        free(sn.rows);
        return ax__request_error(h, AX_ENOMEM);
    }
    if (by_heap) {
        end = select_by_heap(&sn, &o);
    } else {
        end = sn.n;
        heap_sort(sn.rows, sn.n, &o.order);
    }
    for (size_t i = end; i-- > o.offset;) {
        if (!by_heap)
            fill_heap(&sn.rows[i]);
        rows = ax_cons(h, row_term(h, &sn.rows[i], sn.rates != NULL), rows);
    }
    free(sn.rows);
    keys[0] = ax_atom("total");
    keys[1] = ax_atom("offset");
    keys[2] = ax_atom("rows");
    vals[0] = ax_int(h, (int64_t)sn.kept);
    vals[1] = ax_int(h, (int64_t)o.offset);
    vals[2] = rows;
    return ax_tuple(h, 2, ax_atom("ok"), ax_map_from(h, 3, keys, vals));
}

/* --- One process ----------------------------------------------------------- */

/* The most keys a map made here has. */
#define MAP_KEYS_MAX 32

static ax_term_t map_of(ax_heap_t *h, size_t n, const char *const *keys,
                        const ax_term_t *vals)
{
    ax_term_t k[MAP_KEYS_MAX];

    ax_assert(n <= MAP_KEYS_MAX);
    for (size_t i = 0; i < n; i++)
        k[i] = ax_atom(keys[i]);
    return ax_map_from(h, n, k, vals);
}

static ax_term_t heap_term(ax_heap_t *h, const ax_heap_stats_t *st)
{
    static const char *const keys[] = {
        "minor_gcs", "major_gcs", "heap_size", "heap_used", "old_heap_size",
        "old_heap_used", "offheap_bytes", "words_reclaimed", "last_pause_ns",
        "max_pause_ns"};
    ax_term_t v[10] = {
        ax_int(h, (int64_t)st->minor_gcs), ax_int(h, (int64_t)st->major_gcs),
        ax_int(h, (int64_t)st->heap_size), ax_int(h, (int64_t)st->heap_used),
        ax_int(h, (int64_t)st->old_heap_size),
        ax_int(h, (int64_t)st->old_heap_used),
        ax_int(h, (int64_t)st->offheap_bytes),
        ax_int(h, (int64_t)st->words_reclaimed),
        ax_int(h, (int64_t)st->last_pause_ns),
        ax_int(h, (int64_t)st->max_pause_ns)};

    return map_of(h, 10, keys, v);
}

ax_term_t ax__req_process_info(ax_term_t pid)
{
    static const char *const keys[] = {
        "pid", "status", "registered_name", "reductions",
        "message_queue_len", "trap_exit", "links", "monitors",
        "monitored_by", "initial_call", "current", "heap", "memory"};
    ax_heap_t *h = ax_heap();
    ax_process_info_t in;
    struct proc *p = ax_is_pid(pid) ? ax__ptab_lookup(pid) : NULL;
    void *fn = NULL;
    ax_term_t mod = AX_NONE;
    int err;

    if (!ax_is_pid(pid))
        return ax__request_error(h, AX_EBADARG);
    if (p) { /* racy, as the list's: only for its name */
        fn = p->kind == PK_HANDLER ? (void *)p->fn.handler
                                   : (void *)p->fn.body;
        mod = atomic_load_explicit(&p->module, memory_order_relaxed);
    }
    err = ax_process_info(pid, h, &in);
    if (err)
        return ax__request_error(h, err);
    {
        ax_term_t init = mod != AX_NONE
                             ? ax_tuple(h, 3, mod, ax_atom("init"),
                                        ax_int(h, 1))
                         : fn ? fn_term(h, fn)
                              : in.initial_call;
        bool recv = in.current != in.initial_call;

        if (mod != AX_NONE && in.status == AX_PS_WAITING)
            in.current = ax_tuple(h, 3, ax_atom("gen_server"),
                                  ax_atom("loop"), ax_int(h, 1));
        recv = recv || (mod != AX_NONE && in.status == AX_PS_WAITING);
        ax_term_t v[13] = {
            pid, ax_atom(status_text(in.status)), in.registered_name,
            ax_int(h, (int64_t)in.reductions),
            ax_int(h, (int64_t)in.message_queue_len), ax_bool(in.trap_exit),
            in.links, in.monitors, in.monitored_by, init,
            recv ? in.current : init, heap_term(h, &in.heap),
            ax_int(h, (int64_t)in.memory)};

        return ax_tuple(h, 2, ax_atom("ok"), map_of(h, 13, keys, v));
    }
}

/* The most messages {messages, Pid, N} copies, and their bytes. */
#define MESSAGES_MAX 100
#define MESSAGES_BYTES_MAX (64 * 1024)

ax_term_t ax__req_messages(ax_term_t pid, ax_term_t n)
{
    static const char *const keys[] = {"total", "messages", "cut"};
    ax_heap_t *h = ax_heap();
    int64_t want = 0;
    size_t total = 0;
    bool cut = false;
    ax_term_t list;
    int err;

    if (!ax_is_pid(pid) || ax_get_int(n, &want) != 0 || want < 0)
        return ax__request_error(h, AX_EBADARG);
    if (want > MESSAGES_MAX)
        want = MESSAGES_MAX;
    err = ax__process_messages(pid, (size_t)want, MESSAGES_BYTES_MAX, h,
                               &list, &total, &cut);
    if (err)
        return ax__request_error(h, err);
    {
        ax_term_t v[3] = {ax_int(h, (int64_t)total), list, ax_bool(cut)};

        return ax_tuple(h, 2, ax_atom("ok"), map_of(h, 3, keys, v));
    }
}

/* --- Supervision trees ------------------------------------------------------ */

/* Depth at which a tree stops being walked (a loop would be a bug, but a
 * client must get an answer). */
#define TREE_DEPTH_MAX 64

static ax_term_t sup_node(struct session *s, ax_term_t sup, ax_term_t id,
                          unsigned depth);

/* A child of which_children, {Id, Pid, Type, Mods}, as a tree node. */
static ax_term_t child_node(struct session *s, ax_term_t c, unsigned depth)
{
    static const char *const keys[] = {"id", "pid", "type", "modules",
                                       "name"};
    ax_heap_t *h = ax_heap();
    ax_term_t pid = ax_tuple_get(c, 1);
    struct proc *p;
    ax_term_t v[5];

    if (ax_tuple_get(c, 2) == ax_atom("supervisor") && ax_is_pid(pid))
        return sup_node(s, pid, ax_tuple_get(c, 0), depth + 1);
    p = ax_is_pid(pid) ? ax__ptab_lookup(pid) : NULL;
    v[0] = ax_tuple_get(c, 0);
    v[1] = pid;
    v[2] = ax_tuple_get(c, 2);
    v[3] = ax_tuple_get(c, 3);
    v[4] = p && p->name != AX_NONE ? p->name : AX_NIL;
    return map_of(h, 5, keys, v);
}

/* #{pid, id, name, type => supervisor, strategy, intensity, period,
 * restarts, children => [Node]}. */
static ax_term_t sup_node(struct session *s, ax_term_t sup, ax_term_t id,
                          unsigned depth)
{
    static const char *const keys[] = {"pid", "id", "name", "type",
                                       "children", "state"};
    ax_heap_t *h = ax_heap();
    ax_term_t kids = AX_NIL;
    ax_term_t st = ax__request_call(s, sup, ax_atom("$ax_sys"),
                                    ax_atom("get_state"), 5000);
    ax_term_t wc = ax__request_call(s, sup, ax_atom("$gen_call"),
                                    ax_atom("which_children"), 5000);
    struct proc *p = ax__ptab_lookup(sup);
    ax_term_t list = ax_tuple_get(wc, 1);
    size_t n = ax_list_length(list) > 0 ? (size_t)ax_list_length(list) : 0;
    ax_term_t *items = n ? calloc(n, sizeof(*items)) : NULL;
    ax_term_t v[6];

    if (ax_tuple_get(wc, 0) == ax_atom("ok") && depth < TREE_DEPTH_MAX &&
        items) {
        /* which_children gives the newest first, as OTP's: a tree is
         * drawn in the order the children started. */
        for (size_t i = 0; i < n; i++, list = ax_tail(list))
            items[n - 1 - i] = child_node(s, ax_head(list), depth);
        kids = ax_list_v(h, n, items);
    }
    free(items);
    st = ax_tuple_get(st, 0) == ax_atom("ok") ? ax_tuple_get(st, 1) : AX_NIL;
    if (ax_is_map(st))
        st = ax_map_remove(h, st, ax_atom("children"));
    v[0] = sup;
    v[1] = id;
    v[2] = p && p->name != AX_NONE ? p->name : AX_NIL;
    v[3] = ax_atom("supervisor");
    v[4] = kids;
    v[5] = st;
    return map_of(h, 6, keys, v);
}

struct roots {
    ax_term_t *pids;
    size_t n;
    size_t cap;
};

/* A supervisor whose parent is not one: a root. */
static void find_root(struct proc *p, void *arg)
{
    struct roots *r = arg;
    ax_term_t pid = atomic_load_explicit(&p->pid, memory_order_acquire);
    struct proc *parent;

    if (!pid || p->kind != PK_BODY || !is_supervisor_fn((void *)p->fn.body))
        return;
    parent = ax_is_pid(p->parent) ? ax__ptab_lookup(p->parent) : NULL;
    if (parent && parent->kind == PK_BODY &&
        is_supervisor_fn((void *)parent->fn.body))
        return;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        ax_term_t *pids = reallocarray(r->pids, cap, sizeof(*pids));

        if (!pids)
            return;
        r->pids = pids;
        r->cap = cap;
    }
    r->pids[r->n++] = pid;
}

ax_term_t ax__req_tree(struct session *s, ax_term_t root)
{
    ax_heap_t *h = ax_heap();
    struct roots r = {0};
    ax_term_t list = AX_NIL;
    ax_term_t pid = ax_is_atom(root) ? ax_whereis(root) : root;

    if (root != AX_NONE) {
        if (!ax_is_pid(pid) || !ax_is_alive(pid))
            return ax__request_error(h, AX_ENOPROC);
        return ax_tuple(h, 2, ax_atom("ok"),
                        sup_node(s, pid, ax_atom("undefined"), 0));
    }
    ax__ptab_foreach(find_root, &r);
    for (size_t i = r.n; i-- > 0;)
        list = ax_cons(h, sup_node(s, r.pids[i], ax_atom("undefined"), 0),
                       list);
    free(r.pids);
    return ax_tuple(h, 2, ax_atom("ok"), list);
}

/* --- Node counters ------------------------------------------------------------- */

/* Resident set size in bytes, from /proc/self/statm; 0 if unknown. */
static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0;
    unsigned long rss = 0;

    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &rss) != 2)
        rss = 0;
    fclose(f);
    return (uint64_t)rss * 4096;
}

static ax_term_t sched_list(ax_heap_t *h, unsigned n)
{
    static const char *const keys[] = {"utilisation", "busy_ns",
                                       "run_queue", "context_switches",
                                       "steals"};
    ax_term_t list = AX_NIL;
    ax_sched_stats_t st;

    for (unsigned i = n; i-- > 0;) {
        ax_term_t v[5];

        if (ax_sched_stats(i, &st) != 0)
            continue;
        v[0] = ax_float(h, st.utilisation);
        v[1] = ax_int(h, (int64_t)st.busy_ns);
        v[2] = ax_int(h, (int64_t)st.run_queue);
        v[3] = ax_int(h, (int64_t)st.context_switches);
        v[4] = ax_int(h, (int64_t)st.steals);
        list = ax_cons(h, map_of(h, 5, keys, v), list);
    }
    return list;
}

ax_term_t ax__req_stats(void)
{
    static const char *const keys[] = {
        "schedulers", "processes", "process_limit", "spawns", "exits",
        "messages", "reductions", "gcs", "stacks", "seed", "uptime_ms",
        "atoms", "atom_limit", "rss_bytes", "crash_log_written",
        "crash_log_queued", "crash_log_dropped", "crash_log_failing",
        "scheduler_stats", "node", "restarts", "heap_bytes",
        "binary_bytes", "code_bytes", "atom_bytes"};
    ax_heap_t *h = ax_heap();
    ax_node_stats_t ns;
    struct crash_log_stats cs;
    const char *name = ax_node_name();
    ax_term_t v[25];
    int err = ax_node_stats(&ns);

    if (err)
        return ax__request_error(h, err);
    ax__crash_log_stats(&cs);
    v[0] = ax_int(h, ns.schedulers);
    v[1] = ax_int(h, (int64_t)ns.processes);
    v[2] = ax_int(h, (int64_t)ns.process_limit);
    v[3] = ax_int(h, (int64_t)ns.spawns);
    v[4] = ax_int(h, (int64_t)ns.exits);
    v[5] = ax_int(h, (int64_t)ns.messages);
    v[6] = ax_int(h, (int64_t)ns.reductions);
    v[7] = ax_int(h, (int64_t)ns.gcs);
    v[8] = ax_int(h, (int64_t)ns.stacks);
    v[9] = ax_int(h, (int64_t)ns.seed);
    v[10] = ax_int(h, (int64_t)((ax__now_ns() - ax__node.start_ns) / 1000000));
    v[11] = ax_int(h, (int64_t)ax_atom_count());
    v[12] = ax_int(h, (int64_t)ax_atom_limit());
    v[13] = ax_int(h, (int64_t)rss_bytes());
    v[14] = ax_int(h, (int64_t)cs.written);
    v[15] = ax_int(h, (int64_t)cs.queued);
    v[16] = ax_int(h, (int64_t)cs.dropped);
    v[17] = ax_bool(cs.failing);
    v[18] = sched_list(h, ns.schedulers);
    v[19] = name ? ax_atom(name) : ax_atom("nonode");
    v[20] = ax_int(h, (int64_t)ax__supervisor_restarts());
    v[21] = ax_int(h, (int64_t)(ax__heap_words_total() * sizeof(uint64_t)));
    v[22] = ax_int(h, (int64_t)ax__binary_bytes_total());
    v[23] = ax_int(h, (int64_t)ax__code_bytes());
    v[24] = ax_int(h, (int64_t)ax__atom_bytes());
    return ax_tuple(h, 2, ax_atom("ok"), map_of(h, 25, keys, v));
}
