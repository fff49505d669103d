/*
 * v_crashes.c - the Crashes view: the crash log's reports, newest first,
 * from the node ({crashes, #{limit => N}}) or, post-mortem, straight from
 * a database opened read-only (WAL: a node may still be writing it).
 * `/` filters the rows fetched by any text they show; Enter opens the
 * whole report (v_report.c).
 *
 * This file also owns the database handle of post-mortem mode (o->db),
 * and reads one whole report from it for the pager.
 */
#include "obs.h"

#include <ncursesw/curses.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define FETCH 500
#define BUSY_MS 1000

struct crow {
    int64_t id;
    char time[24];
    char pid[32];
    char who[48];     /* name, else module */
    char version[24];
    char reason[200];
};

static struct crashes {
    struct crow rows[FETCH];
    int n;
    int shown[FETCH]; /* the rows the filter keeps */
    int nshown;
    struct cursor cur;
    int page;
    char filter[128];
    bool have;
} C;

static const char list_sql[] =
    "SELECT id, time, pid, name, module, version, reason FROM crash"
    " ORDER BY id DESC LIMIT ?1";

static void crashes_open(struct obs *o)
{
    (void)o;
    memset(&C, 0, sizeof(C));
    C.page = 20;
}

int crashdb_open(struct obs *o, const char *path)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(db, BUSY_MS);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "SELECT 1 FROM crash LIMIT 1", NULL, NULL,
                          NULL);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "ax observer: %s: %s\n", path,
                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return AX_EINVAL;
    }
    o->db = db;
    return 0;
}

void crashdb_close(struct obs *o)
{
    sqlite3_close(o->db);
    o->db = NULL;
}

static void time_text(int64_t us, char *buf, size_t size)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;

    if (localtime_r(&t, &tm))
        strftime(buf, size, "%m-%d %H:%M:%S", &tm);
    else
        snprintf(buf, size, "?");
}

static void col_text(sqlite3_stmt *st, int i, char *buf, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    snprintf(buf, size, "%s", t ? (const char *)t : "");
}

static int fetch_db(struct obs *o)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(o->db, list_sql, -1, &st, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 1, FETCH);
    C.n = 0;
    while (rc == SQLITE_OK && C.n < FETCH &&
           sqlite3_step(st) == SQLITE_ROW) {
        struct crow *r = &C.rows[C.n++];

        r->id = sqlite3_column_int64(st, 0);
        time_text(sqlite3_column_int64(st, 1), r->time, sizeof(r->time));
        col_text(st, 2, r->pid, sizeof(r->pid));
        col_text(st, 3, r->who, sizeof(r->who));
        if (!r->who[0])
            col_text(st, 4, r->who, sizeof(r->who));
        col_text(st, 5, r->version, sizeof(r->version));
        col_text(st, 6, r->reason, sizeof(r->reason));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        obs_say(o, true, "the database: %s", sqlite3_errmsg(o->db));
    return rc == SQLITE_OK ? 0 : AX_ESTATE;
}

static int fetch_node(struct obs *o)
{
    ax_term_t list = AX_NIL;
    int err;

    o->quiet = true;
    err = obs_req(o, &list, "{crashes, #{limit => %d}}", FETCH);
    if (err == AX_EBADARG && strcmp(o->error, "badstate") == 0)
        err = 0; /* no crash log open yet: nothing crashed */
    else if (err == AX_EBADARG)
        obs_say(o, true, "error: %s", o->error);
    if (err)
        return err;
    C.n = 0;
    for (; ax_is_cons(list) && C.n < FETCH; list = ax_tail(list)) {
        ax_term_t m = ax_head(list);
        struct crow *r = &C.rows[C.n++];

        r->id = m_int(m, "id");
        time_text(m_int(m, "time"), r->time, sizeof(r->time));
        m_text(m, "pid", r->pid, sizeof(r->pid));
        m_text(m, "name", r->who, sizeof(r->who));
        if (!r->who[0])
            m_text(m, "module", r->who, sizeof(r->who));
        m_text(m, "version", r->version, sizeof(r->version));
        m_text(m, "reason", r->reason, sizeof(r->reason));
    }
    return 0;
}

static bool row_matches(const struct crow *r)
{
    return !C.filter[0] || strstr(r->pid, C.filter) ||
           strstr(r->who, C.filter) || strstr(r->reason, C.filter) ||
           strstr(r->time, C.filter);
}

static void apply_filter(void)
{
    C.nshown = 0;
    for (int i = 0; i < C.n; i++)
        if (row_matches(&C.rows[i]))
            C.shown[C.nshown++] = i;
    C.cur.n = C.nshown;
    cursor_fix(&C.cur, C.page);
}

static int crashes_refresh(struct obs *o)
{
    int err = o->db ? fetch_db(o) : fetch_node(o);

    if (!err)
        C.have = true;
    apply_filter();
    return err;
}

static void crashes_draw(struct obs *o, struct frame *f, int rows, int cols)
{
    (void)cols;
    C.page = rows - 2 > 1 ? rows - 2 : 1;
    cursor_fix(&C.cur, C.page);
    fr_line(f);
    fr_add(f, R_NORMAL, " %d crash reports%s%s%s, newest first", C.nshown,
           C.filter[0] ? " matching \"" : "", C.filter,
           C.filter[0] ? "\"" : "");
    fr_add(f, R_DIM, "   / filter  Enter read the report");
    fr_line(f);
    fr_add(f, R_HEADER, " %-6s %-14s %-13s %-16s %-10s %s", "ID", "TIME",
           "PID", "NAME/MODULE", "VERSION", "REASON");
    fr_fill(f, R_HEADER);
    if (C.have && C.n == 0) {
        fr_line(f);
        fr_add(f, R_GOOD, " no crash reports");
    }
    for (long i = C.cur.top; i < C.nshown && i < C.cur.top + C.page; i++) {
        const struct crow *r = &C.rows[C.shown[i]];
        bool sel = i == C.cur.sel && !o->batch;

        fr_line(f);
        fr_add(f, sel ? R_SELECTED : R_NORMAL, " %-6lld %-14s %-13s %-16.16s "
               "%-10.10s ", (long long)r->id, r->time, r->pid, r->who,
               r->version);
        fr_add(f, sel ? R_SELECTED : R_BAD, "%s", r->reason);
        if (sel)
            fr_fill(f, R_SELECTED);
    }
}

static void filter_changed(struct obs *o, const char *text)
{
    snprintf(C.filter, sizeof(C.filter), "%s", text);
    C.cur.sel = C.cur.top = 0;
    apply_filter();
    o->dirty = true;
}

static bool crashes_key(struct obs *o, int key)
{
    if (cursor_key(&C.cur, key, C.page))
        return true;
    if (key == '/') {
        obs_prompt(o, "filter:", C.filter, filter_changed, filter_changed);
        return true;
    }
    if ((key == '\n' || key == '\r' || key == KEY_ENTER) && C.nshown) {
        o->report_id = C.rows[C.shown[C.cur.sel]].id;
        obs_open_view(o, V_REPORT);
        return true;
    }
    return false;
}

static void crashes_click(struct obs *o, int row, int col)
{
    (void)o;
    (void)col;
    C.cur.n = C.nshown;
    cursor_click(&C.cur, row, 2, C.page);
}

/* --- One whole report ---------------------------------------------------- */

int crashdb_report(struct obs *o, int64_t id,
                   void (*field)(const char *name, const char *value))
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(o->db, "SELECT * FROM crash WHERE id = ?1",
                                -1, &st, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 1, id);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *name = sqlite3_column_name(st, i);
            const unsigned char *t = sqlite3_column_text(st, i);

            if (strcmp(name, "pid_key") != 0) /* pid again, for an index */
                field(name, t ? (const char *)t : "");
        }
    else
        rc = SQLITE_NOTFOUND;
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : AX_ENOPROC;
}

static const struct keyhelp crashes_help[] = {
    {"Up Down PgUp PgDn", "move"},
    {"/", "filter by pid, name, module, reason or time (Esc clears)"},
    {"Enter", "read the whole report"},
    {NULL, NULL},
};

const struct view view_crashes = {
    .name = "Crashes",
    .tab = true,
    .open = crashes_open,
    .refresh = crashes_refresh,
    .draw = crashes_draw,
    .key = crashes_key,
    .click = crashes_click,
    .help = crashes_help,
};
