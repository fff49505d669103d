/*
 * v_tree.c - the Supervision trees view, from `tree`: every root
 * supervisor and its children, indented, each supervisor with its
 * strategy, its restarts and how much of its restart intensity the last
 * period used (its state's `recent` of `intensity`). Supervisors
 * collapse and expand (Space, Left/Right). A child whose pid changed
 * since the last refresh (it was restarted) flashes for FLASH_MS and says
 * "restarted". Enter opens the selected process.
 *
 * Rows are keyed by their path of child ids ("demo_sup/workers/echo"),
 * which a restart keeps.
 */
#include "obs.h"

#include <ncursesw/curses.h>
#include <stdio.h>
#include <string.h>

#define ROWS_MAX 2048
#define COLLAPSED_MAX 64
#define FLASH_MS 3000
#define DEPTH_MAX 32

struct trow {
    char path[160];
    char label[64];   /* name, else id */
    char pid[32];
    bool sup;
    int depth;
    uint32_t more;    /* bit d: the ancestor at depth d has siblings below */
    bool last;
    char strategy[24];
    int64_t restarts, recent, intensity, period;
    uint64_t flash_until;
};

static struct tree {
    struct trow rows[ROWS_MAX];
    int n;
    struct trow prev[ROWS_MAX];
    int nprev;
    char collapsed[COLLAPSED_MAX][160];
    int ncollapsed;
    struct cursor cur;
    int page;
    bool have;
} T;

static void tree_open(struct obs *o)
{
    (void)o;
    memset(&T, 0, sizeof(T));
    T.page = 20;
}

static int collapsed_at(const char *path)
{
    for (int i = 0; i < T.ncollapsed; i++)
        if (strcmp(T.collapsed[i], path) == 0)
            return i;
    return -1;
}

static const struct trow *prev_of(const char *path)
{
    for (int i = 0; i < T.nprev; i++)
        if (strcmp(T.prev[i].path, path) == 0)
            return &T.prev[i];
    return NULL;
}

/* Fills a row from a tree node; flashes it if its pid changed. */
static void node_row(ax_term_t m, struct trow *r, const char *parent,
                     uint64_t now)
{
    ax_term_t st = ax_map_get(m, ax_atom("state"));
    char id[64];
    const struct trow *p;

    m_text(m, "id", id, sizeof(id));
    m_text(m, "name", r->label, sizeof(r->label));
    if (!r->label[0] || strcmp(r->label, "undefined") == 0)
        snprintf(r->label, sizeof(r->label), "%s", id);
    snprintf(r->path, sizeof(r->path), "%s/%s", parent, id);
    m_text(m, "pid", r->pid, sizeof(r->pid));
    r->sup = ax_map_get(m, ax_atom("type")) == ax_atom("supervisor");
    m_text(st, "strategy", r->strategy, sizeof(r->strategy));
    r->restarts = m_int(st, "restarts");
    r->recent = m_int(st, "recent");
    r->intensity = m_int(st, "intensity");
    r->period = m_int(st, "period");
    p = prev_of(r->path);
    r->flash_until = p ? p->flash_until : 0;
    if (p && strcmp(p->pid, r->pid) != 0)
        r->flash_until = now + (uint64_t)FLASH_MS * 1000000u;
}

static void walk(ax_term_t list, const char *parent, int depth,
                 uint32_t more, uint64_t now)
{
    for (; ax_is_cons(list) && T.n < ROWS_MAX; list = ax_tail(list)) {
        struct trow *r = &T.rows[T.n++];
        bool last = !ax_is_cons(ax_tail(list));

        node_row(ax_head(list), r, parent, now);
        r->depth = depth;
        r->more = more;
        r->last = last;
        if (r->sup && depth < DEPTH_MAX && collapsed_at(r->path) < 0)
            walk(ax_map_get(ax_head(list), ax_atom("children")), r->path,
                 depth + 1, last ? more : more | (1u << depth), now);
    }
}

static int tree_refresh(struct obs *o)
{
    ax_term_t list;
    int err = obs_req(o, &list, "tree");

    if (err)
        return err;
    memcpy(T.prev, T.rows, (size_t)T.n * sizeof(T.rows[0]));
    T.nprev = T.n;
    T.n = 0;
    walk(list, "", 0, 0, obs_now_ns());
    T.cur.n = T.n;
    cursor_fix(&T.cur, T.page);
    T.have = true;
    return 0;
}

static void draw_row(struct obs *o, struct frame *f, const struct trow *r,
                     bool sel, int cols)
{
    bool flash = r->flash_until > obs_now_ns();
    enum role base = sel ? R_SELECTED : flash ? R_FLASH : R_NORMAL;
    char label[200];
    int used = 1;

    fr_line(f);
    fr_add(f, base, " ");
    for (int d = 0; d < r->depth; d++) {
        if (d + 1 == r->depth)
            fr_glyph(f, base, r->last ? G_ELBOW : G_TEE, o->utf8);
        else if (r->more & (1u << (d + 1)))
            fr_add(f, base, "%s ", o->utf8 ? "\xe2\x94\x82" : "|");
        else
            fr_add(f, base, "  ");
        used += 2;
    }
    if (r->sup)
        fr_glyph(f, base, collapsed_at(r->path) >= 0 ? G_CLOSED : G_OPEN,
                 o->utf8);
    else
        fr_add(f, base, "%s", o->utf8 ? " " : "   ");
    snprintf(label, sizeof(label), " %s", r->label);
    fr_cell(f, base, label, 34 - used > 8 ? 34 - used : 8, false);
    fr_cell(f, base, r->pid, 14, false);
    if (r->sup) {
        snprintf(label, sizeof(label), "%-13s restarts %-4lld intensity "
                 "%lld/%lld in %llds", r->strategy, (long long)r->restarts,
                 (long long)r->recent, (long long)r->intensity,
                 (long long)r->period);
        fr_add(f, !sel && r->recent >= r->intensity && r->intensity
                      ? R_BAD : base, "%s", label);
    } else {
        fr_add(f, base, "worker");
    }
    if (flash)
        fr_add(f, sel ? base : R_FLASH, "  restarted");
    (void)cols;
    if (sel || flash)
        fr_fill(f, base);
}

static void tree_draw(struct obs *o, struct frame *f, int rows, int cols)
{
    T.page = rows - 1 > 1 ? rows - 1 : 1;
    cursor_fix(&T.cur, T.page);
    fr_line(f);
    fr_add(f, R_HEADER, " %-32s %-14s %s", "SUPERVISOR / CHILD", "PID",
           "STRATEGY, RESTARTS, INTENSITY USED IN THE PERIOD");
    fr_fill(f, R_HEADER);
    if (T.have && T.n == 0) {
        fr_line(f);
        fr_add(f, R_DIM, " no supervisors run on this node");
    }
    for (long i = T.cur.top; i < T.n && i < T.cur.top + T.page; i++)
        draw_row(o, f, &T.rows[i], i == T.cur.sel && !o->batch, cols);
}

static void toggle(struct obs *o, bool collapse)
{
    const struct trow *r = T.n ? &T.rows[T.cur.sel] : NULL;
    int at;

    if (!r || !r->sup)
        return;
    at = collapsed_at(r->path);
    if (collapse && at < 0 && T.ncollapsed < COLLAPSED_MAX)
        memcpy(T.collapsed[T.ncollapsed++], r->path, sizeof(r->path));
    else if (!collapse && at >= 0)
        memcpy(T.collapsed[at], T.collapsed[--T.ncollapsed],
               sizeof(T.collapsed[0]));
    o->refresh_now = true;
}

static bool tree_key(struct obs *o, int key)
{
    if (cursor_key(&T.cur, key, T.page))
        return true;
    switch (key) {
    case ' ':
        toggle(o, T.n && collapsed_at(T.rows[T.cur.sel].path) < 0);
        return true;
    case KEY_LEFT:
        if (T.n && T.rows[T.cur.sel].sup &&
            collapsed_at(T.rows[T.cur.sel].path) < 0) {
            toggle(o, true);
            return true;
        }
        return false;
    case KEY_RIGHT:
        toggle(o, false);
        return true;
    case '\n':
    case '\r':
    case KEY_ENTER:
        if (T.n)
            obs_open_process(o, T.rows[T.cur.sel].pid);
        return true;
    }
    return false;
}

static void tree_click(struct obs *o, int row, int col)
{
    (void)o;
    (void)col;
    cursor_click(&T.cur, row, 1, T.page);
}

static bool tree_selected(struct obs *o, char *pid, size_t size)
{
    (void)o;
    if (!T.n)
        return false;
    snprintf(pid, size, "%s", T.rows[T.cur.sel].pid);
    return true;
}

static const struct keyhelp tree_help[] = {
    {"Up Down PgUp PgDn", "move"},
    {"Space", "collapse / expand the supervisor"},
    {"Left Right", "collapse / expand"},
    {"Enter", "open the process"},
    {NULL, NULL},
};

const struct view view_tree = {
    .name = "Tree",
    .tab = true,
    .needs_node = true,
    .open = tree_open,
    .refresh = tree_refresh,
    .draw = tree_draw,
    .key = tree_key,
    .click = tree_click,
    .selected = tree_selected,
    .help = tree_help,
};
