/*
 * crashes.c - the crash-log request: the node's recent crash reports,
 * read from its own database through a read-only SQLite connection (WAL:
 * it never waits for the writer thread), newest first.
 *
 *   {crashes, #{limit => N, since => Microseconds, pid => Pid,
 *               who => NameOrModule, reason => Text,
 *               supervisor => Pid, child_id => Id}}
 *   -> {ok, [#{id, time, pid, name, module, version, reason}]}
 *
 * Every key is optional (limit 20, at most 1000); a pid means that
 * process of this run of the node (pids are numbered afresh each run).
 * supervisor and child_id together find one child's crashes across its
 * restarts (its pid changes, its supervisor and id do not); child_id is
 * any term, compared as printed.
 * time is in microseconds since the epoch; pid and reason are the
 * report's text (a binary); name and module atoms, or [] where the
 * report has none.
 *
 *   {crash, Id} -> {ok, #{Column => Value}}
 *
 * One report whole: every column of its row in the crash table (see
 * ax(1), CRASH LOG) under the column's name, text as binaries, NULL as
 * [], but pid_key (the pid again, as the index's key); {error, noproc}
 * for an id that names no report.
 */
#include "node.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "../crash/log.h"

#define LIMIT_DEFAULT 20
#define LIMIT_MAX 1000
#define BUSY_MS 1000
#define SETTLE_MS 500

/* A pid is found through its key (?9) from schema version 3 on, as
 * the writer keeps the log; by its text in an older log the node could
 * not write to. */
#define SELECT_SQL(pid_is)                                                     \
    "SELECT id, time, pid, name, module, version, reason FROM crash"           \
    " WHERE (?1 IS NULL OR time >= ?1)"                                        \
    " AND (?2 IS NULL OR (" pid_is " AND node_start = ?6))"                    \
    " AND (?3 IS NULL OR name = ?3 OR module = ?3)"                            \
    " AND (?4 IS NULL OR instr(reason, ?4) > 0)"                               \
    " AND (?7 IS NULL OR (supervisor = ?7 AND node_start = ?6))"               \
    " AND (?8 IS NULL OR child_id = ?8)"                                       \
    " ORDER BY id DESC LIMIT ?5"
#define KEYED_SINCE 3 /* the schema version with pid_key */
#define KEY_PARAM 9

static const char select_sql[] = SELECT_SQL("pid_key = ?9 AND pid = ?2");
static const char select_sql_by_text[] = SELECT_SQL("pid = ?2");

static const char one_sql[] = "SELECT * FROM crash WHERE id = ?1";

static ax_term_t A(const char *name)
{
    return ax_atom(name);
}

/* Binds parameter i to v printed (a pid if pid_only), if v is there;
 * false if it is malformed or cannot be printed. */
static bool bind_printed(sqlite3_stmt *st, int i, ax_term_t v, bool pid_only)
{
    char *text;

    if (v == AX_NONE)
        return true;
    text = !pid_only || ax_is_pid(v) ? ax_format(v, NULL, NULL) : NULL;
    if (!text)
        return false;
    return sqlite3_bind_text(st, i, text, -1, free) == SQLITE_OK;
}

/* Binds the filters of opts; false if one is malformed. */
static bool bind_filters(sqlite3_stmt *st, ax_term_t opts)
{
    ax_term_t v;
    int64_t n = LIMIT_DEFAULT;
    size_t len;

    if (!ax_is_map(opts))
        return false;
    if ((v = ax_map_get(opts, A("limit"))) != AX_NONE &&
        (ax_get_int(v, &n) != 0 || n < 1))
        return false;
    sqlite3_bind_int64(st, 5, n > LIMIT_MAX ? LIMIT_MAX : n);
    if ((v = ax_map_get(opts, A("since"))) != AX_NONE) {
        if (ax_get_int(v, &n) != 0)
            return false;
        sqlite3_bind_int64(st, 1, n);
    }
    v = ax_map_get(opts, A("pid"));
    if (v != AX_NONE && ax_is_pid(v) &&
        sqlite3_bind_parameter_count(st) >= KEY_PARAM)
        sqlite3_bind_int64(st, KEY_PARAM,
                           ax__crash_pid_key(pid_number(v), pid_serial(v)));
    if (!bind_printed(st, 2, v, true) ||
        !bind_printed(st, 7, ax_map_get(opts, A("supervisor")), true) ||
        !bind_printed(st, 8, ax_map_get(opts, A("child_id")), false))
        return false;
    if ((v = ax_map_get(opts, A("who"))) != AX_NONE) {
        const char *text = ax_is_atom(v) ? ax_atom_text(v, &len) : NULL;

        if (!text)
            return false;
        sqlite3_bind_text(st, 3, text, (int)len, SQLITE_TRANSIENT);
    }
    if ((v = ax_map_get(opts, A("reason"))) != AX_NONE) {
        const uint8_t *text = ax_binary_data(v, &len);

        if (!text)
            return false;
        sqlite3_bind_text(st, 4, (const char *)text, (int)len,
                          SQLITE_TRANSIENT);
    }
    return true;
}

/* Column i as an atom, or [] for NULL. */
static ax_term_t atom_col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    ax_term_t a;

    if (!t || ax_atom_intern((const char *)t, strlen((const char *)t), &a))
        return AX_NIL;
    return a;
}

static ax_term_t text_col(ax_heap_t *h, sqlite3_stmt *st, int i)
{
    const void *t = sqlite3_column_text(st, i);

    return t ? ax_binary(h, t, (size_t)sqlite3_column_bytes(st, i)) : AX_NIL;
}

static ax_term_t row(ax_heap_t *h, sqlite3_stmt *st)
{
    ax_term_t k[7] = {A("id"),     A("time"),    A("pid"),   A("name"),
                      A("module"), A("version"), A("reason")};
    ax_term_t v[7];

    v[0] = ax_int(h, sqlite3_column_int64(st, 0));
    v[1] = ax_int(h, sqlite3_column_int64(st, 1));
    v[2] = text_col(h, st, 2);
    v[3] = atom_col(st, 3);
    v[4] = atom_col(st, 4);
    v[5] = text_col(h, st, 5);
    v[6] = text_col(h, st, 6);
    return ax_map_from(h, 7, k, v);
}

/* The rows of st, newest first as selected, onto h. */
static int collect(ax_heap_t *h, sqlite3_stmt *st, ax_term_t *out)
{
    ax_term_t rows[LIMIT_MAX];
    size_t n = 0;
    int rc;

    while (n < LIMIT_MAX && (rc = sqlite3_step(st)) == SQLITE_ROW)
        rows[n++] = row(h, st);
    if (n < LIMIT_MAX && rc != SQLITE_DONE)
        return AX_ESTATE;
    *out = ax_list_v(h, n, rows);
    return 0;
}

/* Lets the writer commit what is queued, for up to SETTLE_MS: a crash
 * the shell has just seen is in the answer. As a process, sleeping. */
static void settle(void)
{
    struct crash_log_stats st;

    for (int ms = 0; ms < SETTLE_MS; ms += 2) {
        ax__crash_log_stats(&st);
        if (st.queued == 0 || st.failing)
            return;
        ax_sleep(2);
    }
}

/* The schema version of the log open at db; 0 if it cannot be read. */
static int schema_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    int v = 0;

    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
        SQLITE_OK)
        return 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Opens the node's log read-only and prepares sql on it, or older_sql
 * (if not NULL) where its schema is older than KEYED_SINCE: SQLITE_OK,
 * or an error (SQLITE_CANTOPEN: no log is open). *db is closed by the
 * caller, whatever the result. */
static int open_log(const char *sql, const char *older_sql, sqlite3 **db,
                    sqlite3_stmt **st, int64_t *node_start)
{
    char *path = ax__crash_log_path(node_start);
    int rc;

    if (!path)
        return SQLITE_CANTOPEN;
    settle();
    rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(*db, BUSY_MS);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(
            *db,
            older_sql && schema_version(*db) < KEYED_SINCE ? older_sql : sql,
            -1, st, NULL);
    free(path);
    return rc;
}

ax_term_t ax__req_crashes(ax_term_t opts)
{
    ax_heap_t *h = ax_heap();
    int64_t node_start = 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    ax_term_t list = AX_NIL;
    int err = AX_ESTATE;

    if (open_log(select_sql, select_sql_by_text, &db, &st, &node_start) !=
        SQLITE_OK) {
        /* A log nothing was written to yet has no tables. */
        if (db && strstr(sqlite3_errmsg(db), "no such table"))
            err = 0;
        goto out_close;
    }
    sqlite3_bind_int64(st, 6, node_start);
    err = bind_filters(st, opts) ? collect(h, st, &list) : AX_EBADARG;
out_close:
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (err)
        return ax__request_error(h, err);
    return ax_tuple(h, 2, A("ok"), list);
}

/* The current row of st, every column, as a map. */
static ax_term_t whole_row(ax_heap_t *h, sqlite3_stmt *st)
{
    ax_term_t map = ax_map_new(h);

    for (int i = 0; i < sqlite3_column_count(st); i++) {
        const char *name = sqlite3_column_name(st, i);
        ax_term_t v = sqlite3_column_type(st, i) == SQLITE_INTEGER
                          ? ax_int(h, sqlite3_column_int64(st, i))
                          : text_col(h, st, i);

        if (strcmp(name, "pid_key") != 0)
            map = ax_map_put(h, map, A(name), v);
    }
    return map;
}

ax_term_t ax__req_crash(ax_term_t id)
{
    ax_heap_t *h = ax_heap();
    int64_t node_start = 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    ax_term_t report = AX_NONE;
    int64_t n;
    int rc;

    if (ax_get_int(id, &n) != 0)
        return ax__request_error(h, AX_EBADARG);
    rc = open_log(one_sql, NULL, &db, &st, &node_start);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 1, n);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        report = whole_row(h, st);
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (report != AX_NONE)
        return ax_tuple(h, 2, A("ok"), report);
    return ax__request_error(h, rc == SQLITE_DONE ? AX_ENOPROC : AX_ESTATE);
}
