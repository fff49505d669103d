/*
 * v_modules.c - the Modules view, from `modules`: each loaded module,
 * its current and old versions, how many processes run each, and its
 * file. `r` reloads the selected module (asks first: its processes move
 * to the new version at their next call).
 */
#include "obs.h"

#include <ncursesw/curses.h>
#include <stdio.h>
#include <string.h>

#define MODULES_MAX 512

struct mrow {
    char name[64];
    char current[32];
    char old[32];
    int64_t current_procs;
    int64_t old_procs;
    char path[160];
};

static struct modules {
    struct mrow rows[MODULES_MAX];
    int n;
    struct cursor cur;
    int page;
} M;

static void modules_open(struct obs *o)
{
    (void)o;
    memset(&M, 0, sizeof(M));
    M.page = 20;
}

static int modules_refresh(struct obs *o)
{
    ax_term_t list;
    int err = obs_req(o, &list, "modules");

    if (err)
        return err;
    M.n = 0;
    for (; ax_is_cons(list) && M.n < MODULES_MAX; list = ax_tail(list)) {
        ax_term_t m = ax_head(list);
        struct mrow *r = &M.rows[M.n++];

        m_text(m, "name", r->name, sizeof(r->name));
        m_text(m, "current", r->current, sizeof(r->current));
        m_text(m, "old", r->old, sizeof(r->old));
        if (strcmp(r->old, "undefined") == 0)
            r->old[0] = '\0';
        r->current_procs = m_int(m, "current_procs");
        r->old_procs = m_int(m, "old_procs");
        m_text(m, "path", r->path, sizeof(r->path));
    }
    M.cur.n = M.n;
    cursor_fix(&M.cur, M.page);
    return 0;
}

static void modules_draw(struct obs *o, struct frame *f, int rows, int cols)
{
    M.page = rows - 2 > 1 ? rows - 2 : 1;
    cursor_fix(&M.cur, M.page);
    fr_line(f);
    fr_add(f, R_NORMAL, " %d modules loaded", M.n);
    fr_add(f, R_DIM, "   r reload");
    fr_line(f);
    fr_add(f, R_HEADER, " %-16s %-12s %6s  %-12s %6s  %s", "MODULE",
           "CURRENT", "PROCS", "OLD", "PROCS", "FILE");
    fr_fill(f, R_HEADER);
    for (long i = M.cur.top; i < M.n && i < M.cur.top + M.page; i++) {
        const struct mrow *r = &M.rows[i];
        bool sel = i == M.cur.sel && !o->batch;
        char oldp[24];

        fr_line(f);
        fr_add(f, sel ? R_SELECTED : R_NORMAL, " %-16s %-12s %6lld  ",
               r->name, r->current, (long long)r->current_procs);
        if (r->old[0])
            snprintf(oldp, sizeof(oldp), "%lld", (long long)r->old_procs);
        fr_add(f, sel ? R_SELECTED : r->old[0] ? R_WARN : R_NORMAL,
               "%-12s %6s", r->old[0] ? r->old : "-", r->old[0] ? oldp : "-");
        fr_add(f, sel ? R_SELECTED : R_DIM, "  ");
        fr_tail(f, sel ? R_SELECTED : R_DIM, r->path,
                f->n ? cols - (int)text_columns(f->lines[f->n - 1]) : -1,
                o->utf8);
        if (sel)
            fr_fill(f, R_SELECTED);
    }
}

static void done_reload(struct obs *o, const char *name)
{
    ax_term_t v;

    if (obs_req(o, &v, "{load, '%s'}", name) == 0) {
        obs_say(o, false, "reloaded %s", name);
        o->refresh_now = true;
    }
}

static bool modules_key(struct obs *o, int key)
{
    char q[128];
    const struct mrow *r = M.n ? &M.rows[M.cur.sel] : NULL;

    if (cursor_key(&M.cur, key, M.page))
        return true;
    if (key == 'r' && r) {
        if (o->read_only) {
            obs_say(o, true, "read-only: actions are disabled");
            return true;
        }
        snprintf(q, sizeof(q), "Reload module %s from its file? (y/n)",
                 r->name);
        obs_confirm(o, q, r->name, done_reload);
        return true;
    }
    return false;
}

static void modules_click(struct obs *o, int row, int col)
{
    (void)o;
    (void)col;
    cursor_click(&M.cur, row, 2, M.page);
}

static const struct keyhelp modules_help[] = {
    {"Up Down PgUp PgDn", "move"},
    {"r", "reload the selected module from its file (asks first)"},
    {NULL, NULL},
};

const struct view view_modules = {
    .name = "Modules",
    .tab = true,
    .needs_node = true,
    .open = modules_open,
    .refresh = modules_refresh,
    .draw = modules_draw,
    .key = modules_key,
    .click = modules_click,
    .help = modules_help,
};
