/*
 * v_procs.c - the Processes view: one page of the node's processes,
 * sorted, filtered and cut to the page on the node ({processes, Opts}
 * with sort, order, offset, limit and filter), so that a million
 * processes cost one pass over the node's table and send one page of
 * rows. Reductions per second come from the previous page's counts of
 * the same pids (a row new to the page shows "-").
 *
 * Keys: arrows, PgUp/PgDn, Home/End move (a new page is asked for at
 * once); < and > choose the sort column, I inverts the order, a click on
 * a header sorts by it (again: inverts); / filters as it is typed; Enter
 * opens the process.
 */
#include "obs.h"

#include <ncursesw/curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct prow {
    char pid[32];
    char name[48];
    char module[96];
    char status[12];
    int64_t reds;
    double rate;      /* < 0: unknown */
    int64_t mailbox;
    int64_t heap;     /* words */
    int64_t memory;   /* bytes */
    int64_t gcs;
    char current[104];
};

struct column {
    const char *title;
    const char *sort;  /* the node's sort key, or NULL */
    int width;         /* 0: the rest of the line */
    bool right;
};

static const struct column columns[] = {
    {"PID", "pid", 11, false},
    {"NAME", "name", 14, false},
    {"MODULE/INITIAL", "initial_call", 18, false},
    {"STATUS", "status", 8, false},
    {"REDS/s", "reds_per_s", 7, true},
    {"REDS", "reductions", 8, true},
    {"MSGQ", "mailbox", 6, true},
    {"HEAP", "heap", 6, true},
    {"MEMORY", "memory", 7, true},
    {"GCS", "gcs", 5, true},
    {"CURRENT", "current", 0, false},
};
#define NCOLS (sizeof(columns) / sizeof(columns[0]))
#define COL_RATE 4
#define COL_REDS 5
/* The body rows above the table: the summary, the header. */
#define TOP_ROWS 2
#define PAGE_MAX 500

static struct procs {
    struct prow rows[PAGE_MAX];
    size_t n;
    long rows_top;     /* the offset they were asked for at */
    struct prow prev[PAGE_MAX];
    size_t nprev;
    uint64_t prev_ns;
    int64_t total;
    struct cursor cur;
    int page;          /* table rows on screen */
    unsigned sort;     /* index into columns */
    bool desc;
    char filter[128];
    bool have;         /* a page came */
} P;

static void procs_open(struct obs *o)
{
    (void)o;
    memset(&P, 0, sizeof(P));
    P.sort = COL_REDS;
    P.desc = true;
    P.page = 20;
}

static double rate_of(const struct prow *r, double secs)
{
    for (size_t i = 0; i < P.nprev && secs > 0; i++)
        if (strcmp(P.prev[i].pid, r->pid) == 0)
            return (double)(r->reds - P.prev[i].reds) / secs;
    return -1;
}

/* {M, F, A} as "M:F/A". */
static void mfa_text(ax_term_t mfa, char *buf, size_t size)
{
    char mod[40];
    char fn[40];
    int64_t arity = 0;

    term_text(ax_tuple_get(mfa, 0), mod, sizeof(mod));
    term_text(ax_tuple_get(mfa, 1), fn, sizeof(fn));
    ax_get_int(ax_tuple_get(mfa, 2), &arity);
    snprintf(buf, size, "%s:%s/%lld", mod, fn, (long long)arity);
}

static void row_of(ax_term_t m, struct prow *r, double secs)
{
    ax_term_t init = ax_map_get(m, ax_atom("initial_call"));
    ax_term_t vsn;
    const char *v;
    size_t len = 0;
    char fn[64];

    m_text(m, "pid", r->pid, sizeof(r->pid));
    m_text(m, "name", r->name, sizeof(r->name));
    m_text(m, "status", r->status, sizeof(r->status));
    r->reds = m_int(m, "reductions");
    r->mailbox = m_int(m, "mailbox");
    r->heap = m_int(m, "heap");
    r->memory = m_int(m, "memory");
    r->gcs = m_int(m, "gcs");
    term_text(ax_tuple_get(init, 0), r->module, sizeof(r->module));
    term_text(ax_tuple_get(init, 1), fn, sizeof(fn));
    vsn = ax_map_get(m, ax_atom("version"));
    if (strcmp(fn, "init") != 0) /* a C body: module:function */
        snprintf(r->module + strlen(r->module),
                 sizeof(r->module) - strlen(r->module), ":%s", fn);
    else if (vsn != AX_NONE && vsn != ax_atom("undefined") &&
             (v = ax_atom_text(vsn, &len))) /* a module's: module:version */
        snprintf(r->module + strlen(r->module),
                 sizeof(r->module) - strlen(r->module), ":%.*s", (int)len,
                 v);
    mfa_text(ax_map_get(m, ax_atom("current")), r->current,
             sizeof(r->current));
    /* Sorted by rate, the node computed it, over all processes. */
    if (ax_map_get(m, ax_atom("reds_per_s")) != AX_NONE)
        r->rate = (double)m_int(m, "reds_per_s");
    else
        r->rate = rate_of(r, secs);
}

static ax_term_t request(struct obs *o)
{
    ax_heap_t *h = o->h;
    ax_term_t k[5] = {ax_atom("sort"), ax_atom("order"), ax_atom("offset"),
                      ax_atom("limit"), ax_atom("filter")};
    ax_term_t v[5] = {ax_atom(columns[P.sort].sort),
                      ax_atom(P.desc ? "desc" : "asc"),
                      ax_int(h, P.cur.top), ax_int(h, P.page),
                      ax_string(h, P.filter)};

    return ax_tuple(h, 2, ax_atom("processes"), ax_map_from(h, 5, k, v));
}

/* The selection follows its process to where the new page has it (a
 * new order, or its rank changed), as in htop; a process that left the
 * page leaves the selection where it was. Not when the page moved (the
 * selection moved past its edge): that one is chosen by position. */
static void follow(const char *pid, long top)
{
    for (size_t i = 0; pid[0] && i < P.n; i++)
        if (strcmp(P.rows[i].pid, pid) == 0) {
            P.cur.sel = top + (long)i;
            return;
        }
}

static int procs_refresh(struct obs *o)
{
    uint64_t now = obs_now_ns();
    double secs = P.prev_ns ? (double)(now - P.prev_ns) / 1e9 : 0;
    long top = P.cur.top; /* the page asked for */
    long at = P.cur.sel - top;
    char selected[sizeof(P.rows[0].pid)] = "";
    ax_term_t page;
    ax_term_t list;
    int err;

    if (at >= 0 && at < (long)P.n && P.rows_top == top)
        memcpy(selected, P.rows[at].pid, sizeof(selected));
    err = obs_req_term(o, request(o), &page);
    if (err)
        return err;
    P.rows_top = top;
    P.total = m_int(page, "total");
    list = ax_map_get(page, ax_atom("rows"));
    memcpy(P.prev, P.rows, P.n * sizeof(P.rows[0]));
    P.nprev = P.n;
    P.prev_ns = now;
    P.n = 0;
    for (; ax_is_cons(list) && P.n < PAGE_MAX; list = ax_tail(list))
        row_of(ax_head(list), &P.rows[P.n++], secs);
    follow(selected, top);
    P.cur.n = P.total;
    cursor_fix(&P.cur, P.page);
    P.have = true;
    return 0;
}

static void cell_text(const struct prow *r, unsigned c, char *buf,
                      size_t size)
{
    switch (c) {
    case 0: snprintf(buf, size, "%s", r->pid); break;
    case 1: snprintf(buf, size, "%s", r->name); break;
    case 2: snprintf(buf, size, "%s", r->module); break;
    case 3: snprintf(buf, size, "%s", r->status); break;
    case 4:
        if (r->rate < 0)
            snprintf(buf, size, "-");
        else
            human(r->rate, buf, size);
        break;
    case 5: human((double)r->reds, buf, size); break;
    case 6: snprintf(buf, size, "%lld", (long long)r->mailbox); break;
    case 7: human_bytes((double)r->heap * 8, buf, size); break;
    case 8: human_bytes((double)r->memory, buf, size); break;
    case 9: snprintf(buf, size, "%lld", (long long)r->gcs); break;
    default: snprintf(buf, size, "%s", r->current); break;
    }
}

static int col_width(unsigned c, int cols, int x)
{
    return columns[c].width ? columns[c].width : (cols - x > 1 ? cols - x : 1);
}

static void header(struct obs *o, struct frame *f, int cols)
{
    int x = 0;

    fr_line(f);
    for (unsigned c = 0; c < NCOLS; c++) {
        char t[32];
        int w = col_width(c, cols, x);
        bool sorted = c == P.sort;

        snprintf(t, sizeof(t), "%s%s", sorted && !columns[c].right
                                           ? "" : " ", columns[c].title);
        if (sorted)
            snprintf(t + strlen(t), sizeof(t) - strlen(t), "%s",
                     o->utf8 ? (P.desc ? "\xe2\x96\xbc" : "\xe2\x96\xb2")
                             : (P.desc ? "v" : "^"));
        fr_cell(f, sorted ? R_SORTED : R_HEADER, t, w, columns[c].right);
        fr_add(f, R_HEADER, " ");
        x += w + 1;
    }
    fr_fill(f, R_HEADER);
}

static void procs_draw(struct obs *o, struct frame *f, int rows, int cols)
{
    char filt[160] = "";

    P.page = rows - TOP_ROWS > 1 ? rows - TOP_ROWS : 1;
    if (P.page > PAGE_MAX)
        P.page = PAGE_MAX;
    if (P.filter[0])
        snprintf(filt, sizeof(filt), " matching \"%s\"", P.filter);
    fr_line(f);
    if (!P.have)
        fr_add(f, R_DIM, " asking the node...");
    else
        fr_add(f, R_NORMAL, " %lld process%s%s, sorted by %s %s",
               (long long)P.total, P.total == 1 ? "" : "es", filt,
               columns[P.sort].sort, P.desc ? "desc" : "asc");
    fr_add(f, R_DIM, "   / filter  < > sort  I invert  Enter open");
    header(o, f, cols);
    for (size_t i = 0; i < P.n && (int)i < P.page; i++) {
        bool sel = (long)i + P.cur.top == P.cur.sel && !o->batch;
        enum role base = sel ? R_SELECTED : R_NORMAL;
        int x = 0;

        fr_line(f);
        for (unsigned c = 0; c < NCOLS; c++) {
            char t[96];
            int w = col_width(c, cols, x);
            enum role r = base;

            cell_text(&P.rows[i], c, t, sizeof(t));
            if (!sel && c == 6 && P.rows[i].mailbox > 1000)
                r = R_BAD;
            else if (!sel && c == 3 && strcmp(t, "running") == 0)
                r = R_GOOD;
            fr_cell(f, r, t, w, columns[c].right);
            fr_add(f, base, " ");
            x += w + 1;
        }
        if (sel)
            fr_fill(f, R_SELECTED);
    }
}

static void filter_changed(struct obs *o, const char *text)
{
    snprintf(P.filter, sizeof(P.filter), "%s", text);
    P.cur.sel = P.cur.top = 0;
    o->refresh_now = true;
}

static void sort_by(struct obs *o, unsigned c, bool invert_if_same)
{
    if (!columns[c].sort)
        return;
    if (c == P.sort && invert_if_same) {
        P.desc = !P.desc;
    } else {
        P.sort = c;
        P.desc = c == COL_RATE || (c >= COL_REDS && c != NCOLS - 1);
    }
    o->refresh_now = true;
}

static void sort_step(struct obs *o, int step)
{
    int c = (int)P.sort;

    do
        c = (c + (int)NCOLS + step) % (int)NCOLS;
    while (!columns[c].sort);
    sort_by(o, (unsigned)c, false);
}

static bool procs_key(struct obs *o, int key)
{
    long top = P.cur.top;

    if (cursor_key(&P.cur, key, P.page)) {
        if (P.cur.top != top)
            o->refresh_now = true;
        return true;
    }
    switch (key) {
    case '/':
        obs_prompt(o, "filter:", P.filter, filter_changed, filter_changed);
        return true;
    case '<':
        sort_step(o, -1);
        return true;
    case '>':
        sort_step(o, 1);
        return true;
    case 'I':
        P.desc = !P.desc;
        o->refresh_now = true;
        return true;
    case '\n':
    case '\r':
    case KEY_ENTER:
        if (P.cur.sel - P.cur.top < (long)P.n && P.n)
            obs_open_process(o, P.rows[P.cur.sel - P.cur.top].pid);
        return true;
    }
    return false;
}

static void procs_click(struct obs *o, int row, int col)
{
    int x = 0;

    if (row == TOP_ROWS - 1) {
        for (unsigned c = 0; c < NCOLS; c++) {
            int w = col_width(c, o->width, x);

            if (col >= x && col <= x + w) {
                sort_by(o, c, true);
                return;
            }
            x += w + 1;
        }
        return;
    }
    cursor_click(&P.cur, row, TOP_ROWS, P.page);
}

static bool procs_selected(struct obs *o, char *pid, size_t size)
{
    long i = P.cur.sel - P.cur.top;

    (void)o;
    if (i < 0 || i >= (long)P.n)
        return false;
    snprintf(pid, size, "%s", P.rows[i].pid);
    return true;
}

static const struct keyhelp procs_help[] = {
    {"Up Down PgUp PgDn Home End", "move (and page) through the processes"},
    {"< >", "sort by the previous / next column"},
    {"I", "invert the sort order"},
    {"click a header", "sort by it; again: invert"},
    {"/", "filter by name, module or status as you type (Esc clears)"},
    {"Enter", "open the process"},
    {NULL, NULL},
};

const struct view view_processes = {
    .name = "Processes",
    .tab = true,
    .needs_node = true,
    .open = procs_open,
    .refresh = procs_refresh,
    .draw = procs_draw,
    .key = procs_key,
    .click = procs_click,
    .selected = procs_selected,
    .help = procs_help,
};
