/*
 * log_db.c - the crash log's database (log.h), used by its writer thread
 * alone.
 *
 * The database (WAL mode, synchronous=NORMAL: a committed transaction
 * survives the process being killed; a busy timeout of BUSY_MS). Schema
 * version 3, in PRAGMA user_version; also documented in ax(1). A later
 * version only adds columns to an earlier one (and may index them
 * otherwise), and a database of an earlier version is brought up to
 * this one (migrations[]) when opened:
 *
 *   crash              one row per abnormal exit
 *     id               INTEGER PRIMARY KEY AUTOINCREMENT (never reused)
 *     time             INTEGER, microseconds since the Unix epoch
 *     node             TEXT, the node's name ("nonode" when it has none)
 *     node_start       INTEGER, when the node started (us): with node and
 *                      pid it names one process, as pids repeat between
 *                      runs of a node
 *     pid              TEXT, "<0.N.S>"
 *     pid_key          INTEGER (version 3), S * 2^28 + N (NULL for a
 *                      dump's "none"): what crash_pid indexes. Serial
 *                      first: a slot's serial grows at each reuse, and
 *                      freed slots are reused in turn (ptab.c), so the
 *                      keys of the processes lately spawned lie together
 *                      at the end of the index. A storm of crashes adds
 *                      to a few of its pages, not to all of them, as
 *                      the text did (sorted as text, "<0.10.0>" comes
 *                      before "<0.9.0>"): a commit of 256 reports wrote
 *                      105 pages then, 37 now
 *     name             TEXT, its registered name, or NULL
 *     module, version  TEXT, the module version it ran, or NULL
 *     reason           TEXT, the exit reason printed (bounded)
 *     last_message     TEXT, the last message handled (bounded): the one
 *                      a handler was given, or a body received; or NULL
 *     state            TEXT, a handler's state printed (bounded), or NULL
 *     mailbox          TEXT, the first MAILBOX_SHOWN messages left, as
 *                      a list (each bounded)
 *     links, monitors  TEXT, lists of pids (monitors: those it monitored)
 *     ancestors        TEXT, [Parent] or []
 *     backtrace        TEXT, the native backtrace of a fault (one frame
 *                      a line, as backtrace.h), or NULL
 *     dump             TEXT (version 2), for a fault that killed the node
 *                      (imported from its crash dump, dump.h): the dump
 *                      without its frame and map lines; else NULL. Its
 *                      pid is the process being ended, or "none"; its
 *                      reason {fatal, Signal[, Address]}; its node_start
 *                      the run that died
 *     mailbox_len      INTEGER, messages left in its queue
 *     reductions       INTEGER
 *     heap_words       INTEGER, heap capacity in 8-byte words
 *     supervisor       TEXT, the supervisor's pid, child_id TEXT and
 *     child_id,        restarts INTEGER: from the supervisor report that
 *     restarts         names this pid, else NULL
 *   supervisor_report  one row per supervisor action
 *     id, time, node, node_start   as above
 *     supervisor       TEXT, its pid; sup_name TEXT its name or NULL
 *     event            TEXT: restart, give_up, start_error, shutdown_kill
 *     child_id         TEXT (printed term), child_pid TEXT (the pid that
 *                      died), new_pid TEXT (after a restart), or NULL
 *     child_key        INTEGER (version 3), child_pid's key, as pid_key
 *     reason           TEXT (bounded); restarts INTEGER, the supervisor's
 *                      restarts so far
 *   Indexes: crash(time), crash(pid_key) named crash_pid, crash(module),
 *   crash(name), supervisor_report(time), supervisor_report(child_key)
 *   named supervisor_report_child. Up to version 2 the two keyed ones
 *   indexed the text: a query by pid names both, `pid_key = ? AND pid =
 *   ?`, for either.
 *
 * A supervisor report may be queued before or after the crash report of
 * the child it names (the child signals its exit before its exit hook
 * runs), so the writer joins them either way: a supervisor report fills
 * the crash row of its child_pid if there is one, and is otherwise kept
 * in memory for PENDING_US, for the crash report that may follow.
 *
 * Retention: each transaction deletes rows older than max_age_s and rows
 * beyond the newest max_rows (by id; ids only grow, so this keeps at
 * most max_rows).
 */
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA_VERSION 3
#define TEXT_(x) #x
#define TEXT(x) TEXT_(x)
#define BUSY_MS 5000
#define TXN_MAX 10000 /* reports per transaction */
/*
 * The writer thread, when it writes beside busy schedulers (see log.h),
 * gives its CPU up (sched_yield) every YIELD_EVERY rows (crash_db_writer
 * yield), so a scheduler thread waiting for that CPU waits a hundred
 * microseconds or so, not one of the kernel's time slices.
 */
#define YIELD_EVERY 32
#define CKPT_FRAMES 1000   /* WAL pages: SQLite's own default */
#define PENDING_MAX 64     /* supervisor reports awaiting a crash */
#define PENDING_US 1000000 /* how long one is kept */

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS crash ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time INTEGER NOT NULL, node TEXT NOT NULL,"
    " node_start INTEGER NOT NULL, pid TEXT NOT NULL, pid_key INTEGER,"
    " name TEXT,"
    " module TEXT, version TEXT, reason TEXT NOT NULL, last_message TEXT,"
    " state TEXT, mailbox TEXT, links TEXT, monitors TEXT, ancestors TEXT,"
    " backtrace TEXT, mailbox_len INTEGER NOT NULL,"
    " reductions INTEGER NOT NULL, heap_words INTEGER NOT NULL,"
    " supervisor TEXT, child_id TEXT, restarts INTEGER, dump TEXT);"
    "CREATE INDEX IF NOT EXISTS crash_time ON crash (time);"
    "CREATE INDEX IF NOT EXISTS crash_pid ON crash (pid_key);"
    "CREATE INDEX IF NOT EXISTS crash_module ON crash (module);"
    "CREATE INDEX IF NOT EXISTS crash_name ON crash (name);"
    "CREATE TABLE IF NOT EXISTS supervisor_report ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time INTEGER NOT NULL, node TEXT NOT NULL,"
    " node_start INTEGER NOT NULL, supervisor TEXT NOT NULL,"
    " sup_name TEXT, event TEXT NOT NULL, child_id TEXT, child_pid TEXT,"
    " child_key INTEGER, new_pid TEXT, reason TEXT,"
    " restarts INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS supervisor_report_time"
    " ON supervisor_report (time);"
    "CREATE INDEX IF NOT EXISTS supervisor_report_child"
    " ON supervisor_report (child_key);"
    "PRAGMA user_version = " TEXT(SCHEMA_VERSION) ";";

/* The key of pid text column c in SQL, for the rows of a database of
 * version 2 (pid_key_of's, for the rows written since). */
#define PID_KEY_SCALE 268435456 /* 2^PID_NUMBER_BITS */
_Static_assert(PID_KEY_SCALE == PID_NUMBER_MAX + 1, "as pid_key_of");
#define SQL_PID_KEY(c)                                                         \
    "CASE WHEN " c " LIKE '<0.%.%>' THEN"                                      \
    " CAST(substr(" c ", 4 + instr(substr(" c ", 4), '.')) AS INTEGER)"        \
    " * " TEXT(PID_KEY_SCALE) " + CAST(substr(" c ", 4) AS INTEGER) END"

/* migrations[v - 1] brings a database of version v to v + 1. */
static const char *const migrations[SCHEMA_VERSION - 1] = {
    "ALTER TABLE crash ADD COLUMN dump TEXT;"
    "PRAGMA user_version = 2;",
    /* Version 3 (its lines as they are: clang-format would split the
     * macro's calls). */
    /* clang-format off */
    "ALTER TABLE crash ADD COLUMN pid_key INTEGER;"
    "UPDATE crash SET pid_key = " SQL_PID_KEY("pid") ";"
    "DROP INDEX IF EXISTS crash_pid;"
    "CREATE INDEX crash_pid ON crash (pid_key);"
    "ALTER TABLE supervisor_report ADD COLUMN child_key INTEGER;"
    "UPDATE supervisor_report SET child_key = " SQL_PID_KEY("child_pid") ";"
    "DROP INDEX IF EXISTS supervisor_report_child;"
    "CREATE INDEX supervisor_report_child"
    " ON supervisor_report (child_key);"
    "PRAGMA user_version = 3;",
    /* clang-format on */
};

enum stmt_id {
    S_BEGIN,
    S_COMMIT,
    S_CRASH,
    S_SUP,
    S_SUP_FILL,
    S_AGE_CRASH,
    S_ROWS_CRASH,
    S_AGE_SUP,
    S_ROWS_SUP,
    S_DUMP_SEEN,
    S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_CRASH] =
        "INSERT INTO crash (time, node, node_start, pid, name, module,"
        " version, reason, last_message, state, mailbox, links, monitors,"
        " ancestors, backtrace, dump, mailbox_len, reductions, heap_words,"
        " supervisor, child_id, restarts, pid_key)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
    [S_SUP] =
        "INSERT INTO supervisor_report (time, node, node_start, supervisor,"
        " sup_name, event, child_id, child_pid, new_pid, reason, restarts,"
        " child_key)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    /* Bound as S_SUP is: the parameters it does not name are unused. */
    [S_SUP_FILL] =
        "UPDATE crash SET supervisor = ?4, child_id = ?7, restarts = ?11"
        " WHERE pid_key = ?12 AND pid = ?8 AND node = ?2 AND node_start = ?3"
        " AND supervisor IS NULL",
    [S_AGE_CRASH] = "DELETE FROM crash WHERE time < ?1",
    [S_ROWS_CRASH] = "DELETE FROM crash"
                     " WHERE id <= (SELECT max(id) FROM crash) - ?1",
    [S_AGE_SUP] = "DELETE FROM supervisor_report WHERE time < ?1",
    [S_ROWS_SUP] = "DELETE FROM supervisor_report"
                   " WHERE id <= (SELECT max(id) FROM supervisor_report)"
                   " - ?1",
    /* A crash dump's report committed already (?1 time, ?2 node). */
    [S_DUMP_SEEN] = "SELECT count(*) FROM crash WHERE time = ?1 AND node = ?2"
                    " AND dump IS NOT NULL",
};

/* Supervisor reports that named a pid with no crash row yet, oldest
 * first (copies). */
struct pending {
    struct report *r[PENDING_MAX];
    unsigned head;
    unsigned n;
};

/* The writer's database: its connection (NULL until opened, and after a
 * failure), and what it keeps across reconnections. */
struct crash_db {
    sqlite3 *conn;
    sqlite3_stmt *stmt[S_COUNT];
    const char *path;
    const char *node;
    int64_t node_start;
    const char *dump_path;
    bool dump_in_txn; /* the transaction holds a crash dump's report */
    int wal_frames;   /* in the WAL after the last commit */
    /* The next commit may start the WAL afresh (opened, or checkpointed
     * since), and SQLite syncs its header then: the writer thread's. */
    bool wal_restart;
    struct pending pending;
    char err[256]; /* why the last attempt failed */
};

/* Notes why the connection failed; returns -1. */
static int db_fail(struct crash_db *d, const char *what, int rc)
{
    snprintf(d->err, sizeof(d->err), "%s: %s", what,
             d->conn ? sqlite3_errmsg(d->conn) : sqlite3_errstr(rc));
    return -1;
}

/* Runs every statement of a script that takes no parameters. */
static int run_script(struct crash_db *d, const char *sql)
{
    sqlite3_stmt *s;
    int rc;

    while (*sql) {
        rc = sqlite3_prepare_v2(d->conn, sql, -1, &s, &sql);
        if (rc != SQLITE_OK)
            return db_fail(d, "prepare", rc);
        if (!s)
            break; /* only white space was left */
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            ;
        if (rc != SQLITE_DONE) {
            db_fail(d, "step", rc);
            sqlite3_finalize(s); /* repeats the step's error */
            return -1;
        }
        rc = sqlite3_finalize(s);
        if (rc != SQLITE_OK)
            return db_fail(d, "finalize", rc);
    }
    return 0;
}

/* Ends a failed transaction, keeping the failure that led here as the
 * one said. If the rollback fails too, closing the connection (which
 * every failure leads to) rolls back. */
static void rollback(struct crash_db *d)
{
    char err[sizeof(d->err)];

    if (sqlite3_get_autocommit(d->conn))
        return;
    memcpy(err, d->err, sizeof(err));
    (void)run_script(d, "ROLLBACK");
    memcpy(d->err, err, sizeof(err));
}

/* The first column of a one-row query, as text into buf. */
static int query_text(struct crash_db *d, const char *sql, char *buf,
                      size_t size)
{
    sqlite3_stmt *s;
    const unsigned char *t;
    int rc = sqlite3_prepare_v2(d->conn, sql, -1, &s, NULL);

    if (rc != SQLITE_OK)
        return db_fail(d, "prepare", rc);
    rc = sqlite3_step(s);
    t = rc == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
    snprintf(buf, size, "%s", t ? (const char *)t : "");
    if (rc != SQLITE_ROW) {
        db_fail(d, sql, rc);
        sqlite3_finalize(s); /* repeats the step's error */
        return -1;
    }
    rc = sqlite3_finalize(s);
    return rc == SQLITE_OK ? 0 : db_fail(d, "finalize", rc);
}

/* The schema version of the database; -1 on failure. Under a
 * transaction, so that it holds until the transaction ends. */
static int schema_version(struct crash_db *d)
{
    char v[32];

    return query_text(d, "PRAGMA user_version", v, sizeof(v)) ? -1 : atoi(v);
}

/* Creates the schema, brings an older one up to this version, or checks
 * the one found is this version; in one transaction. */
static int check_schema(struct crash_db *d)
{
    int v = schema_version(d);

    if (v == SCHEMA_VERSION)
        return 0;
    if (v < 0 || run_script(d, "BEGIN IMMEDIATE"))
        return -1;
    v = schema_version(d); /* another writer may have been first */
    if (v > SCHEMA_VERSION)
        snprintf(d->err, sizeof(d->err),
                 "its schema (version %d) is newer than this ax's (%d)", v,
                 SCHEMA_VERSION);
    if (v < 0 || v > SCHEMA_VERSION)
        goto out_rollback;
    if (v == 0 && run_script(d, schema_sql))
        goto out_rollback;
    for (; v > 0 && v < SCHEMA_VERSION; v++)
        if (run_script(d, migrations[v - 1]))
            goto out_rollback;
    if (run_script(d, "COMMIT"))
        goto out_rollback;
    return 0;
out_rollback:
    rollback(d);
    return -1;
}

static void db_close(struct crash_db *d)
{
    for (unsigned i = 0; i < S_COUNT; i++) {
        sqlite3_finalize(d->stmt[i]); /* codes of past steps: seen */
        d->stmt[i] = NULL;
    }
    if (d->conn && sqlite3_close(d->conn) != SQLITE_OK)
        fprintf(stderr, "ax: crash log: closing %s: %s\n", d->path,
                sqlite3_errmsg(d->conn));
    d->conn = NULL;
}

/* SQLite's WAL hook: notes the WAL's size after each commit, instead of
 * checkpointing there (ax__crash_db_checkpoint does). */
static int wal_noted(void *arg, sqlite3 *conn, const char *db, int frames)
{
    struct crash_db *d = arg;

    (void)conn;
    (void)db;
    d->wal_frames = frames;
    return SQLITE_OK;
}

/* Makes the directories above path (mode 0700), as far as it can: the
 * open that follows says what failed. */
static void make_parents(const char *path)
{
    char *dir = strdup(path);

    if (!dir)
        return;
    for (char *s = strchr(dir + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            break;
        *s = '/';
    }
    free(dir);
}

static int db_open(struct crash_db *d)
{
    int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    char mode[16];
    int rc;

    make_parents(d->path);
    rc = sqlite3_open_v2(d->path, &d->conn, flags, NULL);
    if (rc != SQLITE_OK) {
        db_fail(d, "open", rc);
        goto out_close;
    }
    rc = sqlite3_busy_timeout(d->conn, BUSY_MS);
    if (rc != SQLITE_OK) {
        db_fail(d, "busy timeout", rc);
        goto out_close;
    }
    if (query_text(d, "PRAGMA journal_mode = WAL", mode, sizeof(mode)) ||
        run_script(d, "PRAGMA synchronous = NORMAL") || check_schema(d))
        goto out_close;
    if (strcmp(mode, "wal") != 0) {
        snprintf(d->err, sizeof(d->err), "WAL mode refused (%s)", mode);
        goto out_close;
    }
    sqlite3_wal_hook(d->conn, wal_noted, d);
    d->wal_restart = true;
    for (unsigned i = 0; i < S_COUNT; i++) {
        rc = sqlite3_prepare_v2(d->conn, stmt_sql[i], -1, &d->stmt[i], NULL);
        if (rc != SQLITE_OK) {
            db_fail(d, "prepare", rc);
            goto out_close;
        }
    }
    return 0;
out_close:
    db_close(d);
    return -1;
}

/* Runs a prepared statement once and resets it. */
static int step(struct crash_db *d, enum stmt_id id)
{
    sqlite3_stmt *s = d->stmt[id];
    int rc = sqlite3_step(s);

    sqlite3_reset(s); /* returns the step's code again */
    return rc == SQLITE_DONE ? 0 : db_fail(d, "write", rc);
}

static int bind_text(sqlite3_stmt *s, int i, const char *text)
{
    return text ? sqlite3_bind_text(s, i, text, -1, SQLITE_STATIC)
                : sqlite3_bind_null(s, i);
}

/* The key of a pid of this node printed, "<0.N.S>" (the schema's
 * pid_key); -1 for other text. */
static int64_t pid_key_of(const char *text)
{
    unsigned long n;
    unsigned long s;
    int end = 0;

    if (!text || sscanf(text, "<0.%lu.%lu>%n", &n, &s, &end) != 2 || end == 0 ||
        text[end] != '\0' || n > PID_NUMBER_MAX || s > PID_SERIAL_MAX)
        return -1;
    return ax__crash_pid_key(n, s);
}

/* Binds r to statement id: time, node, node_start, the text fields from
 * parameter 4 on, the integers, then (after a crash row's supervisor
 * columns) the key of its pid or its child's. */
static int bind_report(struct crash_db *d, enum stmt_id id,
                       const struct report *r)
{
    sqlite3_stmt *s = d->stmt[id];
    unsigned nf = r->sup ? SF_COUNT : CF_COUNT;
    unsigned nn = r->sup ? 1 : N_COUNT;
    int key_at = r->sup ? 4 + SF_COUNT + 1 : 4 + CF_COUNT + N_COUNT + 3;
    int64_t key = pid_key_of(report_field(r, r->sup ? SF_CHILD_PID : CF_PID));
    int rc = sqlite3_bind_int64(s, 1, r->time_us);

    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 2, d->node, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 3, r->node_start ? r->node_start
                                                    : d->node_start);
    for (unsigned i = 0; rc == SQLITE_OK && i < nf; i++)
        rc = bind_text(s, 4 + (int)i, report_field(r, i));
    for (unsigned i = 0; rc == SQLITE_OK && i < nn; i++)
        rc = sqlite3_bind_int64(s, 4 + (int)(nf + i), r->num[i]);
    if (rc == SQLITE_OK)
        rc = key < 0 ? sqlite3_bind_null(s, key_at)
                     : sqlite3_bind_int64(s, key_at, key);
    return rc == SQLITE_OK ? 0 : db_fail(d, "bind", rc);
}

static void pending_drop_oldest(struct pending *pd)
{
    free(pd->r[pd->head]);
    pd->head = (pd->head + 1) % PENDING_MAX;
    pd->n--;
}

static void pending_free(struct pending *pd)
{
    while (pd->n)
        pending_drop_oldest(pd);
}

/* Keeps a copy of supervisor report r; without memory the crash row
 * that may follow just goes without its supervisor. */
static void pending_add(struct pending *pd, const struct report *r)
{
    struct report *c = malloc(r->size);

    if (!c)
        return;
    memcpy(c, r, r->size);
    if (pd->n == PENDING_MAX)
        pending_drop_oldest(pd);
    pd->r[(pd->head + pd->n) % PENDING_MAX] = c;
    pd->n++;
}

/* The kept supervisor report naming crash report r's pid, or NULL;
 * forgets those more than PENDING_US older than r. */
static const struct report *pending_find(struct pending *pd,
                                         const struct report *r)
{
    const char *pid = report_field(r, CF_PID);

    while (pd->n && pd->r[pd->head]->time_us < r->time_us - PENDING_US)
        pending_drop_oldest(pd);
    for (unsigned i = 0; i < pd->n; i++) {
        const struct report *s = pd->r[(pd->head + i) % PENDING_MAX];
        const char *child = report_field(s, SF_CHILD_PID);

        if (child && pid && strcmp(child, pid) == 0)
            return s;
    }
    return NULL;
}

/* Binds a crash row's supervisor, child_id and restarts (?20 to ?22)
 * from supervisor report s, or NULL. */
static int bind_supervisor(struct crash_db *d, const struct report *s)
{
    sqlite3_stmt *st = d->stmt[S_CRASH];
    int rc = bind_text(st, 20, s ? report_field(s, SF_SUPERVISOR) : NULL);

    if (rc == SQLITE_OK)
        rc = bind_text(st, 21, s ? report_field(s, SF_CHILD_ID) : NULL);
    if (rc == SQLITE_OK)
        rc = s ? sqlite3_bind_int64(st, 22, s->num[N_RESTARTS])
               : sqlite3_bind_null(st, 22);
    return rc == SQLITE_OK ? 0 : db_fail(d, "bind", rc);
}

/* Whether crash dump report r has its row already (its node died after
 * the commit, before renaming the dump): 1, 0, or -1 on failure. */
static int dump_seen(struct crash_db *d, const struct report *r)
{
    sqlite3_stmt *s = d->stmt[S_DUMP_SEEN];
    int rc = sqlite3_bind_int64(s, 1, r->time_us);
    int seen = 0;

    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 2, d->node, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK)
        return db_fail(d, "bind", rc);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        seen = sqlite3_column_int64(s, 0) > 0;
    sqlite3_reset(s); /* returns the step's code again */
    return rc == SQLITE_ROW ? seen : db_fail(d, "read", rc);
}

static int insert_crash(struct crash_db *d, const struct report *r)
{
    const struct report *s = d->pending.n ? pending_find(&d->pending, r) : NULL;
    int seen = r->from_dump ? dump_seen(d, r) : 0;

    if (seen < 0)
        return -1;
    d->dump_in_txn |= r->from_dump;
    if (seen)
        return 0;
    if (bind_report(d, S_CRASH, r) || bind_supervisor(d, s))
        return -1;
    return step(d, S_CRASH);
}

/* Renames the crash dump whose report was committed, so that it is
 * imported once; keeps it for a look (NAME.imported), or else removes
 * it. */
static void retire_dump(struct crash_db *d)
{
    char to[PATH_MAX + 16];

    d->dump_in_txn = false;
    snprintf(to, sizeof(to), "%s.imported", d->dump_path);
    if (rename(d->dump_path, to) != 0 && unlink(d->dump_path) != 0 &&
        errno != ENOENT)
        fprintf(stderr,
                "ax: crash log: cannot remove the imported crash dump "
                "%s: %s\n",
                d->dump_path, strerror(errno));
}

/* Inserts supervisor report r, and fills its child's crash row (or
 * keeps r for it). */
static int insert_sup(struct crash_db *d, const struct report *r)
{
    if (bind_report(d, S_SUP, r) || step(d, S_SUP))
        return -1;
    if (!report_field(r, SF_CHILD_PID))
        return 0;
    if (bind_report(d, S_SUP_FILL, r) || step(d, S_SUP_FILL))
        return -1;
    if (sqlite3_changes(d->conn) == 0)
        pending_add(&d->pending, r);
    return 0;
}

static int prune_one(struct crash_db *d, enum stmt_id id, int64_t value)
{
    int rc = sqlite3_bind_int64(d->stmt[id], 1, value);

    if (rc != SQLITE_OK)
        return db_fail(d, "bind", rc);
    return step(d, id);
}

static int prune(struct crash_db *d, const struct crash_log_limits *l)
{
    int64_t cutoff = ax__crash_now_us() - (int64_t)l->max_age_s * 1000000;
    int64_t rows = (int64_t)l->max_rows;

    return prune_one(d, S_AGE_CRASH, cutoff) ||
                   prune_one(d, S_ROWS_CRASH, rows) ||
                   prune_one(d, S_AGE_SUP, cutoff) ||
                   prune_one(d, S_ROWS_SUP, rows)
               ? -1
               : 0;
}

/*
 * Writes up to TXN_MAX reports from r in one transaction, with pruning;
 * *next gets the first report not in it. Between two rows, w->enough may
 * end the transaction early (it is committed). Nothing is written on
 * failure.
 */
static int write_txn(struct crash_db *d, struct report *r,
                     const struct crash_log_limits *l,
                     const struct crash_db_writer *w, struct report **next)
{
    unsigned n = 0;

    if (step(d, S_BEGIN))
        return -1;
    for (; r && n < TXN_MAX; r = r->next, n++) {
        if (n && w->enough && w->enough(w->arg))
            break;
        if (w->yield && n % YIELD_EVERY == YIELD_EVERY - 1)
            (void)sched_yield(); /* cannot fail on Linux */
        if (r->sup ? insert_sup(d, r) : insert_crash(d, r))
            goto out_rollback;
    }
    if (prune(d, l) || step(d, S_COMMIT))
        goto out_rollback;
    if (d->dump_in_txn && d->dump_path)
        retire_dump(d);
    d->wal_restart = false;
    *next = r;
    return 0;
out_rollback:
    d->dump_in_txn = false;
    rollback(d);
    return -1;
}

int ax__crash_db_write(struct crash_db *d, struct report **list,
                       const struct crash_log_limits *l,
                       const struct crash_db_writer *w, uint64_t *n,
                       size_t *bytes)
{
    struct report *r = *list;
    struct report *next;

    if (!d->conn && db_open(d))
        return -1;
    while (r) {
        if (write_txn(d, r, l, w, &next)) {
            db_close(d);
            return -1;
        }
        while (r != next) {
            struct report *done = r;

            r = r->next;
            *n += 1;
            *bytes += done->size;
            free(done);
        }
        *list = r;
        if (r && w->enough && w->enough(w->arg))
            break;
    }
    return 0;
}

struct crash_db *ax__crash_db_new(const char *path, const char *node,
                                  int64_t node_start, const char *dump_path)
{
    struct crash_db *d = calloc(1, sizeof(*d));

    if (d) {
        d->path = path;
        d->node = node;
        d->node_start = node_start;
        d->dump_path = dump_path;
    }
    return d;
}

void ax__crash_db_prepare(struct crash_db *d)
{
    if (!d->conn)
        db_open(d); /* a failure is the first write's to report */
}

bool ax__crash_db_ready(const struct crash_db *d)
{
    return d->conn != NULL && !d->wal_restart;
}

bool ax__crash_db_checkpoint_due(const struct crash_db *d)
{
    return d->conn && d->wal_frames >= CKPT_FRAMES;
}

void ax__crash_db_checkpoint(struct crash_db *d)
{
    /* A failure (a reader in the way) is retried at the next one; the WAL
     * keeps every commit meanwhile. */
    if (d->conn)
        (void)sqlite3_wal_checkpoint_v2(d->conn, NULL,
                                        SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    d->wal_frames = 0;
    d->wal_restart = true;
}

const char *ax__crash_db_error(const struct crash_db *d)
{
    return d->err;
}

void ax__crash_db_free(struct crash_db *d)
{
    if (!d)
        return;
    db_close(d);
    pending_free(&d->pending);
    free(d);
}
