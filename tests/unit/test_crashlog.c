/*
 * test_crashlog.c - the crash log: which exits it reports and what a
 * report holds, supervisor reports, a storm of 100,000 crashes with none
 * lost, a database that cannot be written (the node lives on and counts
 * what it drops; the reports wait for it to come back), retention, and a
 * node killed mid-storm leaving an intact database.
 *
 * Each test writes to a database in a fresh directory of its own, read
 * back here with SQLite directly.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash/log.h"
#include "mod_util.h"
#include "proc_util.h"

#define STORM 100000
#define BATCH 1000
/* The sanitizers would catch the fault first, and must not. */
#define RAW_FAULT __attribute__((no_sanitize("undefined", "address")))

static char dir[MOD_PATH_LEN];
static char db_path[MOD_PATH_LEN + 16];
/* Texts the root leaves for the test's thread (its pids, printed). */
static char pid_text[4][64];

static void setup(void)
{
    mod_dir_make(dir, "crashlog");
    snprintf(db_path, sizeof(db_path), "%s/crash.db", dir);
    cr_assert_eq(ax_crash_log_set_path(db_path), 0);
    ax__crash_log_set_limits(NULL);
}

static void teardown(void)
{
    mod_dir_remove(dir);
}

TestSuite(crashlog, .init = setup, .fini = teardown);

static ax_term_t A(const char *name)
{
    return ax_atom(name);
}

static ax_term_t T2(ax_term_t a, ax_term_t b)
{
    return ax_tuple(ax_heap(), 2, a, b);
}

static ax_term_t T3(ax_term_t a, ax_term_t b, ax_term_t c)
{
    return ax_tuple(ax_heap(), 3, a, b, c);
}

/* Keeps pid's text in pid_text[i]. */
static void note_pid(size_t i, ax_term_t pid)
{
    char *s = ax_format(pid, NULL, NULL);

    snprintf(pid_text[i], sizeof(pid_text[i]), "%s", s ? s : "?");
    free(s);
}

/* --- Reading the database back -------------------------------------------- */

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;

    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
                 SQLITE_OK, "open %s", path);
    cr_assert_eq(sqlite3_busy_timeout(db, 5000), SQLITE_OK);
    return db;
}

static void close_db(sqlite3 *db)
{
    cr_assert_eq(sqlite3_close(db), SQLITE_OK);
}

/* The first column of the first row of sql (one optional text
 * parameter), as text in buf ("NULL" for SQL NULL, "" for no row). */
static void query(sqlite3 *db, const char *sql, const char *param, char *buf,
                  size_t size)
{
    sqlite3_stmt *s;
    int rc;

    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK, "%s: %s",
                 sql, sqlite3_errmsg(db));
    if (param)
        cr_assert_eq(sqlite3_bind_text(s, 1, param, -1, SQLITE_STATIC),
                     SQLITE_OK);
    rc = sqlite3_step(s);
    cr_assert(rc == SQLITE_ROW || rc == SQLITE_DONE, "%s: %s", sql,
              sqlite3_errmsg(db));
    snprintf(buf, size, "%s",
             rc != SQLITE_ROW ? ""
             : sqlite3_column_type(s, 0) == SQLITE_NULL
                 ? "NULL"
                 : (const char *)sqlite3_column_text(s, 0));
    cr_assert_eq(sqlite3_finalize(s), SQLITE_OK);
}

static long long query_int(sqlite3 *db, const char *sql, const char *param)
{
    char buf[64];

    query(db, sql, param, buf, sizeof(buf));
    return atoll(buf);
}

/* The key the schema gives pid text "<0.N.S>" (ax(1)): S * 2^28 + N. */
static long long pid_key_of(const char *pid)
{
    unsigned long long n;
    unsigned long long s;

    cr_assert_eq(sscanf(pid, "<0.%llu.%llu>", &n, &s), 2, "%s", pid);
    return (long long)(s * 268435456 + n);
}

/* Column col of the crash row of pid. */
static void crash_field(sqlite3 *db, const char *col, const char *pid,
                        char *buf, size_t size)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "SELECT %s FROM crash WHERE pid = ?", col);
    query(db, sql, pid, buf, size);
}

static void assert_crash_field(sqlite3 *db, const char *pid, const char *col,
                               const char *want)
{
    char got[1024];

    crash_field(db, col, pid, got, sizeof(got));
    cr_assert_str_eq(got, want, "%s of %s: got %s, not %s", col, pid, got,
                     want);
}

/* --- Running a node ------------------------------------------------------- */

/* Starts a node of nscheds schedulers, runs fn as its root, and waits
 * until every report is written (the node still runs: stop_node ends
 * it). */
static void run_and_flush_on(ax_body_fn fn, unsigned nscheds)
{
    ax_node_opts_t o = {.schedulers = nscheds};
    char *reason = NULL;

    cr_assert_eq(ax_node_start(&o), 0);
    cr_assert_eq(ax_node_run(fn, AX_NIL, &reason), 0, "root: %s",
                 reason ? reason : "?");
    free(reason);
    cr_assert_eq(ax__crash_log_flush(), 0);
}

static void run_and_flush(ax_body_fn fn)
{
    run_and_flush_on(fn, 2);
}

/* The cores this process may use. */
static unsigned cores(void)
{
    cpu_set_t set;

    cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
    return (unsigned)CPU_COUNT(&set);
}

static void stop_node(void)
{
    cr_assert_eq(ax_node_stop(), 0);
}

static void exit_with(ax_term_t reason)
{
    ax_exit(reason);
}

/* Waits for the 'DOWN' of monitor ref. */
static void wait_down(ax_term_t ref)
{
    ax_term_t m;

    CHECK(ax_receive(
              ax_tuple(ax_heap(), 5, A("DOWN"), ref, AX_ANY, AX_ANY, AX_ANY),
              5000, &m, NULL) == 0);
}

/* Spawns fn(arg) monitored and waits for its 'DOWN'. */
static ax_term_t spawn_and_wait(ax_body_fn fn, ax_term_t arg)
{
    ax_term_t pid;
    ax_term_t ref;

    CHECK(ax_spawn_monitor(fn, arg, &pid, &ref) == 0);
    wait_down(ref);
    return pid;
}

/* Waits until the root is the node's last process. */
static void wait_alone(void)
{
    ax_node_stats_t st;

    for (int i = 0; i < 60000; i++) {
        ax_node_stats(&st);
        if (st.processes <= 1)
            return;
        ax_sleep(1);
    }
    CHECK(!"processes still alive");
}

/* --- Which exits are reported --------------------------------------------- */

static void wait_forever(ax_term_t arg)
{
    ax_term_t m;

    (void)arg;
    ax_receive(A("never_sent"), AX_INFINITY, &m, NULL);
}

static void mixed_exits(ax_term_t arg)
{
    ax_term_t pid;
    ax_term_t ref;

    (void)arg;
    note_pid(0, spawn_and_wait(exit_with, T2(A("boom"), ax_int(NULL, 1))));
    spawn_and_wait(exit_with, A("normal"));
    spawn_and_wait(exit_with, A("shutdown"));
    spawn_and_wait(exit_with, T2(A("shutdown"), A("why")));
    CHECK(ax_spawn_monitor(wait_forever, AX_NIL, &pid, &ref) == 0);
    ax_exit_signal(pid, A("kill"));
    wait_down(ref);
    note_pid(1, pid);
    note_pid(2, spawn_and_wait(exit_with, A("Bad Thing")));
}

Test(crashlog, abnormal_exits_only)
{
    sqlite3 *db;

    run_and_flush(mixed_exits);
    db = open_db(db_path);
    cr_assert_eq(query_int(db, "SELECT count(*) FROM crash", NULL), 3);
    assert_crash_field(db, pid_text[0], "reason", "{boom, 1}");
    assert_crash_field(db, pid_text[1], "reason", "killed");
    assert_crash_field(db, pid_text[2], "reason", "'Bad Thing'");
    close_db(db);
    stop_node();
}

/* --- What a report holds -------------------------------------------------- */

/* Registered, linked and monitoring its parent, three messages left
 * in its queue: then a crash. */
static void leaves_a_mailbox(ax_term_t parent)
{
    ax_term_t ref;
    ax_term_t m;

    CHECK(ax_register(A("crashy"), ax_self()) == 0);
    CHECK(ax_link(parent) == 0);
    CHECK(ax_monitor(parent, &ref) == 0);
    ax_send(ax_self(), A("m1"));
    ax_send(ax_self(), ax_string(ax_heap(), "m2"));
    ax_send(ax_self(), T2(A("m3"), ax_int(NULL, 3)));
    ax_send(ax_self(), A("go"));
    CHECK(ax_receive(A("go"), 5000, &m, NULL) == 0);
    ax_exit(T2(A("bad"), A("thing")));
}

static ax_term_t crash_on_message(ax_term_t msg, ax_term_t state)
{
    if (msg == A("crash"))
        ax_exit(A("told_to"));
    return state;
}

RAW_FAULT static void null_deref(ax_term_t arg)
{
    volatile int *p = NULL;

    (void)arg;
    *p = 1;
}

static void fields_root(ax_term_t arg)
{
    ax_term_t pid;
    ax_term_t ref;

    (void)arg;
    ax_trap_exit(true);
    note_pid(0, ax_self());
    note_pid(1, spawn_and_wait(leaves_a_mailbox, ax_self()));
    CHECK(ax_spawn_handler(crash_on_message, T2(A("counter"), ax_int(NULL, 7)),
                           &pid) == 0);
    CHECK(ax_monitor(pid, &ref) == 0);
    ax_send(pid, A("crash"));
    wait_down(ref);
    note_pid(2, pid);
    note_pid(3, spawn_and_wait(null_deref, AX_NIL));
}

Test(crashlog, report_fields)
{
    char parent[80];
    char buf[4096];
    sqlite3 *db;

    run_and_flush(fields_root);
    db = open_db(db_path);
    snprintf(parent, sizeof(parent), "[%s]", pid_text[0]);
    assert_crash_field(db, pid_text[1], "name", "crashy");
    assert_crash_field(db, pid_text[1], "reason", "{bad, thing}");
    assert_crash_field(db, pid_text[1], "mailbox_len", "3");
    assert_crash_field(db, pid_text[1], "mailbox", "[m1, \"m2\", {m3, 3}]");
    assert_crash_field(db, pid_text[1], "links", parent);
    assert_crash_field(db, pid_text[1], "monitors", parent);
    assert_crash_field(db, pid_text[1], "ancestors", parent);
    assert_crash_field(db, pid_text[1], "state", "NULL");
    assert_crash_field(db, pid_text[1], "module", "NULL");
    assert_crash_field(db, pid_text[1], "node", "nonode");
    cr_assert_gt(query_int(db, "SELECT reductions FROM crash WHERE pid = ?",
                           pid_text[1]),
                 0);
    cr_assert_gt(query_int(db, "SELECT heap_words FROM crash WHERE pid = ?",
                           pid_text[1]),
                 0);
    cr_assert_gt(
        query_int(db, "SELECT time FROM crash WHERE pid = ?", pid_text[1]),
        (long long)(time(NULL) - 60) * 1000000);
    cr_assert_eq(
        query_int(db, "SELECT pid_key FROM crash WHERE pid = ?", pid_text[1]),
        pid_key_of(pid_text[1]));
    assert_crash_field(db, pid_text[2], "state", "{counter, 7}");
    assert_crash_field(db, pid_text[2], "reason", "told_to");
    assert_crash_field(db, pid_text[3], "reason", "{signal, sigsegv, 0}");
    crash_field(db, "backtrace", pid_text[3], buf, sizeof(buf));
    cr_assert(strncmp(buf, "#0 ", 3) == 0, "backtrace: %s", buf);
    assert_crash_field(db, pid_text[1], "last_message", "go");
    assert_crash_field(db, pid_text[2], "last_message", "crash");
    assert_crash_field(db, pid_text[3], "last_message", "NULL");
    close_db(db);
    stop_node();
}

/* --- The last message handled --------------------------------------------- */

/* Receives one message on its heap, collects that heap twice with
 * garbage in between (the message is no root of its own), and crashes. */
static void crash_after_collections(ax_term_t parent)
{
    ax_term_t m;

    ax_send(parent, ax_self());
    CHECK(ax_receive(AX_ANY, 5000, &m, NULL) == 0);
    m = AX_NONE;
    CHECK(ax_gc(NULL, 0) == 0);
    for (int i = 0; i < 10000; i++)
        (void)ax_tuple(ax_heap(), 2, ax_int(NULL, i), AX_NIL);
    CHECK(ax_gc(NULL, 0) == 0);
    ax_exit(A("after_gc"));
}

static void last_message_root(ax_term_t arg)
{
    ax_term_t pid;
    ax_term_t ref;
    ax_term_t m;
    ax_term_t why;
    ax_term_t args =
        ax_list_v(ax_heap(), 2, (ax_term_t[]){ax_self(), A("lm")});

    (void)arg;
    CHECK(ax_module_add_path(dir) == 0);
    CHECK(ax_spawn_monitor(crash_after_collections, ax_self(), &pid, &ref) ==
          0);
    CHECK(ax_receive(pid, 5000, &m, NULL) == 0);
    ax_send(pid, T2(A("hello"), ax_string(ax_heap(), "world")));
    wait_down(ref);
    note_pid(0, pid);
    CHECK(ax_gen_start(A("sup_worker"), args, NULL, &pid, &why) == 0);
    note_pid(1, pid);
    CHECK(ax_monitor(pid, &ref) == 0);
    ax_cast(pid, T2(A("exit"), T2(A("bad"), A("cast"))));
    wait_down(ref);
}

Test(crashlog, last_message_handled)
{
    char out[MOD_PATH_LEN + 16];
    sqlite3 *db;

    snprintf(out, sizeof(out), "%s/sup_worker.so", dir);
    mod_build("sup_worker.c", out);
    run_and_flush(last_message_root);
    db = open_db(db_path);
    assert_crash_field(db, pid_text[0], "reason", "after_gc");
    assert_crash_field(db, pid_text[0], "last_message",
                       "{hello, \"world\"}");
    assert_crash_field(db, pid_text[1], "reason", "{bad, cast}");
    assert_crash_field(db, pid_text[1], "last_message",
                       "{'$gen_cast', {exit, {bad, cast}}}");
    close_db(db);
    stop_node();
}

/* --- Supervisor reports --------------------------------------------------- */

static ax_term_t child_spec(const char *id)
{
    ax_term_t keys[2] = {A("id"), A("start")};
    ax_term_t vals[2] = {
        A(id), T2(A("sup_worker"),
                  ax_list_v(ax_heap(), 2, (ax_term_t[]){ax_self(), A(id)}))};

    return ax_map_from(ax_heap(), 2, keys, vals);
}

static ax_term_t sup_flags(int64_t intensity)
{
    ax_term_t keys[2] = {A("strategy"), A("intensity")};
    ax_term_t vals[2] = {A("one_for_one"), ax_int(NULL, intensity)};

    return ax_map_from(ax_heap(), 2, keys, vals);
}

/* Waits for {started, Tag, Pid}; returns Pid. */
static ax_term_t started(const char *tag)
{
    ax_term_t m;

    CHECK(ax_receive(T3(A("started"), A(tag), AX_ANY), 5000, &m, NULL) == 0);
    return ax_tuple_get(m, 2);
}

/* Starts supervisor name with one child, id; crashes the child with
 * cast msg and waits for its successor; stops the supervisor. pid_text:
 * [0] the supervisor, [1] the child, [2] its successor. The caller
 * traps exits. */
static void crash_supervised(const char *name, const char *id, ax_term_t msg)
{
    ax_term_t sup;
    ax_term_t why;
    ax_term_t child;

    CHECK(ax_module_add_path(dir) == 0);
    CHECK(ax_supervisor_start(
              A(name), sup_flags(10),
              ax_list_v(ax_heap(), 1, (ax_term_t[]){child_spec(id)}), &sup,
              &why) == 0);
    note_pid(0, sup);
    child = started(id);
    note_pid(1, child);
    ax_cast(child, msg);
    note_pid(2, started(id));
    CHECK(ax_gen_stop(sup, A("shutdown"), 5000) == 0);
}

static void supervised_root(ax_term_t arg)
{
    ax_term_t sup;
    ax_term_t why;
    ax_term_t child;
    ax_term_t m;

    (void)arg;
    ax_trap_exit(true);
    crash_supervised("sup_a", "w", T2(A("exit"), A("boom")));
    /* One that gives up at the first crash. */
    CHECK(ax_supervisor_start(
              AX_NONE, sup_flags(0),
              ax_list_v(ax_heap(), 1, (ax_term_t[]){child_spec("g")}), &sup,
              &why) == 0);
    child = started("g");
    note_pid(3, child);
    ax_cast(child, T2(A("exit"), A("bang")));
    CHECK(ax_receive(T3(A("EXIT"), sup, AX_ANY), 5000, &m, NULL) == 0);
}

/* A supervised child that faults in its module's code. */
static void segv_root(ax_term_t arg)
{
    (void)arg;
    ax_trap_exit(true);
    crash_supervised("sup_s", "s", A("segv"));
}

/* Builds the sup_worker module, runs root until its reports are
 * written, and opens the log. */
static sqlite3 *run_with_sup_worker(ax_body_fn root)
{
    char out[MOD_PATH_LEN + 16];

    snprintf(out, sizeof(out), "%s/sup_worker.so", dir);
    mod_build("sup_worker.c", out);
    run_and_flush(root);
    return open_db(db_path);
}

/* The report of a native fault in module code: its reason, its
 * supervisor's restart, and the backtrace naming the function and the
 * module's .so. */
Test(crashlog, a_fault_in_module_code_is_reported_with_its_backtrace)
{
    char bt[4096];
    sqlite3 *db = run_with_sup_worker(segv_root);

    assert_crash_field(db, pid_text[1], "reason", "{signal, sigsegv, 0}");
    assert_crash_field(db, pid_text[1], "module", "sup_worker");
    assert_crash_field(db, pid_text[1], "supervisor", pid_text[0]);
    assert_crash_field(db, pid_text[1], "restarts", "1");
    crash_field(db, "backtrace", pid_text[1], bt, sizeof(bt));
    bt[strcspn(bt, "\n")] = '\0'; /* the faulting frame */
    cr_assert(strncmp(bt, "#0 0x", 5) == 0, "backtrace: %s", bt);
    cr_assert(strstr(bt, " sup_worker_fault (") != NULL, "frame: %s", bt);
    cr_assert(strstr(bt, "sup_worker.so)") != NULL, "frame: %s", bt);
    close_db(db);
    stop_node();
}

Test(crashlog, supervisor_reports)
{
    char out[MOD_PATH_LEN + 16];
    char want[256];
    sqlite3 *db = run_with_sup_worker(supervised_root);

    snprintf(want, sizeof(want), "restart w %s %s %s boom 1 sup_a", pid_text[1],
             pid_text[2], pid_text[0]);
    query(db,
          "SELECT event || ' ' || child_id || ' ' || child_pid || ' ' ||"
          " new_pid || ' ' || supervisor || ' ' || reason || ' ' ||"
          " restarts || ' ' || sup_name FROM supervisor_report"
          " WHERE child_pid = ?",
          pid_text[1], out, sizeof(out));
    cr_assert_str_eq(out, want);
    assert_crash_field(db, pid_text[1], "module", "sup_worker");
    assert_crash_field(db, pid_text[1], "version", "1");
    assert_crash_field(db, pid_text[1], "supervisor", pid_text[0]);
    assert_crash_field(db, pid_text[1], "child_id", "w");
    assert_crash_field(db, pid_text[1], "restarts", "1");
    cr_assert_eq(query_int(db,
                           "SELECT child_key FROM supervisor_report"
                           " WHERE child_pid = ?",
                           pid_text[1]),
                 pid_key_of(pid_text[1]));
    query(db, "SELECT event FROM supervisor_report WHERE child_pid = ?",
          pid_text[3], out, sizeof(out));
    cr_assert_str_eq(out, "give_up");
    assert_crash_field(db, pid_text[3], "child_id", "g");
    /* Children stopped with shutdown, and the supervisor that gave up
     * (its reason is shutdown), left no crash report. */
    cr_assert_eq(query_int(db, "SELECT count(*) FROM crash", NULL), 2);
    close_db(db);
    stop_node();
}

/* --- A storm -------------------------------------------------------------- */

/* Spawns n processes that exit with reason storm, BATCH at a time. */
static void storm(int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        CHECK(ax_spawn(exit_with, A("storm"), NULL) == 0);
        if (i % BATCH == BATCH - 1)
            ax_sleep(1);
    }
}

static void storm_root(ax_term_t arg)
{
    (void)arg;
    storm(STORM);
    wait_alone();
}

/* A storm of STORM crashes on a node of nscheds schedulers: every report
 * is written, once. */
static void storm_on(unsigned nscheds)
{
    struct crash_log_limits l = {.max_rows = 10 * STORM};
    struct crash_log_stats st;
    sqlite3 *db;

    ax__crash_log_set_limits(&l);
    run_and_flush_on(storm_root, nscheds);
    db = open_db(db_path);
    cr_assert_eq(query_int(db,
                           "SELECT count(*) FROM crash"
                           " WHERE reason = 'storm'",
                           NULL),
                 STORM);
    cr_assert_eq(query_int(db, "SELECT count(DISTINCT pid) FROM crash", NULL),
                 STORM);
    close_db(db);
    ax__crash_log_stats(&st);
    cr_assert_eq(st.dropped, 0);
    cr_assert_eq(st.queued, 0);
    cr_assert_eq(st.written, STORM);
    stop_node();
}

/* As many schedulers as cores: the schedulers write when they have
 * nothing to run (crash/log.h). */
Test(crashlog, storm_of_100000_loses_nothing, .timeout = 300)
{
    storm_on(cores());
}

/* One scheduler: with a core spare (on a machine of two or more), the
 * writer thread writes. */
Test(crashlog, storm_on_one_scheduler_loses_nothing, .timeout = 300)
{
    storm_on(1);
}

/* --- A node with no idle scheduler --------------------------------------- */

#define SPINNERS_PER_CORE 4

/* Never waits: keeps its scheduler from ever being idle. */
static void spinner(ax_term_t arg)
{
    (void)arg;
    for (;;)
        ax_yield();
}

/* The crash rows of reason under_load; 0 while the database or its
 * table is not made yet (the writer makes them as it starts). From a
 * process: no cr_assert here. */
static long long rows_under_load(void)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s;
    long long n = 0;

    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) ==
            SQLITE_OK &&
        sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM crash"
                           " WHERE reason = 'under_load'",
                           -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            n = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return n;
}

/* Every scheduler busy, one crash: its report still reaches the
 * database (the writer thread's, once it has waited: crash/log.h), well
 * before the node calms. */
static void saturated_root(ax_term_t arg)
{
    ax_term_t spinners[64];
    int64_t n = 0;
    int i;

    CHECK(ax_get_int(arg, &n) == 0 && n <= 64);
    for (int64_t k = 0; k < n; k++)
        CHECK(ax_spawn(spinner, AX_NIL, &spinners[k]) == 0);
    note_pid(0, spawn_and_wait(exit_with, A("under_load")));
    for (i = 0; i < 500 && rows_under_load() != 1; i++)
        ax_sleep(10);
    for (int64_t k = 0; k < n; k++)
        ax_exit_signal(spinners[k], A("kill"));
    CHECK(i < 500); /* written within 5 s, the spinners still running */
}

Test(crashlog, a_report_is_written_while_every_scheduler_is_busy,
     .timeout = 60)
{
    ax_node_opts_t o = {.schedulers = cores()};
    char *reason = NULL;

    cr_assert_eq(ax_node_start(&o), 0);
    cr_assert_eq(ax_node_run(saturated_root,
                             ax_int(NULL, SPINNERS_PER_CORE * cores()),
                             &reason),
                 0, "root: %s", reason ? reason : "?");
    free(reason);
    stop_node();
}

/* --- Timers while a scheduler writes -------------------------------------- */

#define BACKLOG 20000
#define WAKEUPS_WANTED 20

static _Atomic int64_t backlog_wakeups;

/* Crashes BACKLOG processes, then sleeps a millisecond at a time while
 * their reports are being written, counting its wakeups. */
static void backlog_root(ax_term_t arg)
{
    int64_t n = 0;

    (void)arg;
    for (int i = 0; i < BACKLOG; i++) {
        CHECK(ax_spawn(exit_with, A("backlog"), NULL) == 0);
        if (i % BATCH == BATCH - 1)
            ax_yield();
    }
    wait_alone();
    while (atomic_load(&ax__crash_queued) > 0) {
        ax_sleep(1);
        n++;
    }
    atomic_store(&backlog_wakeups, n);
}

/* Keeps this test's threads (and the node's, made after) on the core it
 * runs on: with one scheduler, no core is spare for the writer thread. */
static void pin_to_this_core(void)
{
    cpu_set_t one;

    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
}

/* One scheduler and one core: the scheduler writes the reports itself
 * whenever it has nothing to run, and a timer that comes due meanwhile
 * (the root's sleep) stops the writing between two rows. It used to be
 * noticed only once the whole backlog was written (a few wakeups, at
 * the writer thread's checkpoints, against a hundred or so). */
Test(crashlog, timers_fire_while_a_scheduler_writes, .timeout = 120)
{
    struct crash_log_limits l = {.max_rows = 10 * BACKLOG};
    sqlite3 *db;

    pin_to_this_core();
    ax__crash_log_set_limits(&l);
    run_and_flush_on(backlog_root, 1);
    cr_assert_geq(atomic_load(&backlog_wakeups), WAKEUPS_WANTED,
                  "the root woke %lld times while the backlog was written",
                  (long long)atomic_load(&backlog_wakeups));
    db = open_db(db_path);
    cr_assert_eq(query_int(db,
                           "SELECT count(*) FROM crash"
                           " WHERE reason = 'backlog'",
                           NULL),
                 BACKLOG);
    close_db(db);
    stop_node();
}

/* How many threads of this process are in the kernel's idle class. */
static int threads_in_idle_class(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' &&
            sched_getscheduler((pid_t)atoi(e->d_name)) == SCHED_IDLE)
            n++;
    closedir(d);
    return n;
}

static _Atomic bool sampling;
static _Atomic int idle_class_seen;

/* Looks every 200 us, while the node runs, for a thread in the idle
 * class (a scheduler writing reports). */
static void *sample_idle_class(void *arg)
{
    struct timespec pause = {0, 200000};

    (void)arg;
    while (atomic_load(&sampling)) {
        int n = threads_in_idle_class();

        if (n > atomic_load(&idle_class_seen))
            atomic_store(&idle_class_seen, n);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

/* The scheduler writes the backlog in the idle class where the process
 * may leave it again (as root, here and in CI), and is back in its own
 * class once it has something to do; never, where it may not. */
Test(crashlog, a_scheduler_writes_in_the_idle_class, .timeout = 120)
{
    struct crash_log_limits l = {.max_rows = 10 * BACKLOG};
    pthread_t sampler;

    pin_to_this_core();
    ax__crash_log_set_limits(&l);
    atomic_store(&sampling, true);
    cr_assert_eq(pthread_create(&sampler, NULL, sample_idle_class, NULL), 0);
    run_and_flush_on(backlog_root, 1);
    atomic_store(&sampling, false);
    cr_assert_eq(pthread_join(sampler, NULL), 0);
    if (ax__crash_log_idle_class())
        cr_assert_eq(atomic_load(&idle_class_seen), 1,
                     "threads seen in the idle class: %d",
                     atomic_load(&idle_class_seen));
    else
        cr_assert_eq(atomic_load(&idle_class_seen), 0);
    cr_assert_eq(threads_in_idle_class(), 0);
    stop_node();
}

/* --- A database that cannot be written ------------------------------------ */

static void fifty_crashes(ax_term_t arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++)
        spawn_and_wait(exit_with, A("unheard"));
}

/* Sends this test's stderr to a file in its directory. */
static void capture_stderr(void)
{
    char path[MOD_PATH_LEN + 16];
    int fd;

    snprintf(path, sizeof(path), "%s/stderr", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    cr_assert_eq(close(fd), 0);
}

/* How many lines of what the test wrote to stderr contain s. */
static int stderr_lines_with(const char *s)
{
    char path[MOD_PATH_LEN + 16];
    char line[1024];
    int n = 0;
    FILE *f;

    fflush(stderr);
    snprintf(path, sizeof(path), "%s/stderr", dir);
    f = fopen(path, "r");
    cr_assert(f);
    while (fgets(line, sizeof(line), f))
        n += strstr(line, s) != NULL;
    fclose(f);
    return n;
}

Test(crashlog, unwritable_database_counts_drops)
{
    struct crash_log_limits l = {.max_queued = 10, .retry_ms = 20};
    ax_node_opts_t o = {.schedulers = 2};
    struct crash_log_stats st;

    capture_stderr();
    /* A path under a regular file fails even for root. */
    cr_assert_eq(ax_crash_log_set_path("/dev/null/crash.db"), 0);
    ax__crash_log_set_limits(&l);
    cr_assert_eq(ax_node_start(&o), 0);
    cr_assert_eq(ax_node_run(fifty_crashes, AX_NIL, NULL), 0);
    cr_assert_eq(ax__crash_log_flush(), AX_ESTATE);
    ax__crash_log_stats(&st);
    cr_assert(st.failing);
    cr_assert_eq(st.queued, 10);
    cr_assert_eq(st.dropped, 40);
    /* The node still serves. */
    cr_assert_eq(ax_node_run(fifty_crashes, AX_NIL, NULL), 0);
    stop_node();
    ax__crash_log_stats(&st);
    cr_assert_eq(st.queued, 0);
    cr_assert_eq(st.dropped, 100);
    cr_assert_eq(stderr_lines_with("cannot write /dev/null/crash.db"), 1);
    cr_assert_eq(stderr_lines_with("10 reports could not be written"), 1);
}

static void ten_crashes(ax_term_t arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++)
        spawn_and_wait(exit_with, A("kept"));
}

Test(crashlog, reports_wait_for_the_database)
{
    struct crash_log_limits l = {.retry_ms = 20};
    char blocker[MOD_PATH_LEN + 16];
    char path[MOD_PATH_LEN + 32];
    ax_node_opts_t o = {.schedulers = 2};
    FILE *f;
    sqlite3 *db;

    capture_stderr();
    /* The database's directory is a file, until it is removed. */
    snprintf(blocker, sizeof(blocker), "%s/later", dir);
    snprintf(path, sizeof(path), "%s/crash.db", blocker);
    cr_assert((f = fopen(blocker, "w")) && fclose(f) == 0);
    cr_assert_eq(ax_crash_log_set_path(path), 0);
    ax__crash_log_set_limits(&l);
    cr_assert_eq(ax_node_start(&o), 0);
    cr_assert_eq(ax_node_run(ten_crashes, AX_NIL, NULL), 0);
    cr_assert_eq(ax__crash_log_flush(), AX_ESTATE);
    cr_assert_eq(unlink(blocker), 0);
    cr_assert_eq(ax__crash_log_flush(), 0);
    db = open_db(path);
    cr_assert_eq(query_int(db, "SELECT count(*) FROM crash", NULL), 10);
    close_db(db);
    stop_node();
    cr_assert_eq(stderr_lines_with("writing to"), 1);
}

/* --- Retention ------------------------------------------------------------ */

static void twenty_five_crashes(ax_term_t arg)
{
    (void)arg;
    for (int i = 0; i < 25; i++)
        spawn_and_wait(exit_with, A("old"));
}

static void one_crash(ax_term_t arg)
{
    (void)arg;
    spawn_and_wait(exit_with, A("new"));
}

Test(crashlog, retention_by_rows_and_age)
{
    struct crash_log_limits l = {.max_rows = 10};
    sqlite3 *db;

    ax__crash_log_set_limits(&l);
    run_and_flush(twenty_five_crashes);
    db = open_db(db_path);
    cr_assert_eq(query_int(db, "SELECT count(*) FROM crash", NULL), 10);
    cr_assert_eq(query_int(db, "SELECT min(id) FROM crash", NULL), 16);
    l.max_age_s = 1;
    ax__crash_log_set_limits(&l);
    sleep(2);
    cr_assert_eq(ax_node_run(one_crash, AX_NIL, NULL), 0);
    cr_assert_eq(ax__crash_log_flush(), 0);
    cr_assert_eq(query_int(db, "SELECT count(*) FROM crash", NULL), 1);
    cr_assert_eq(query_int(db,
                           "SELECT count(*) FROM crash"
                           " WHERE reason = 'new'",
                           NULL),
                 1);
    close_db(db);
    stop_node();
}

/* --- Paths ---------------------------------------------------------------- */

Test(crashlog, default_path_and_node_name)
{
    char path[MOD_PATH_LEN + 32];
    sqlite3 *db;

    cr_assert_eq(setenv("XDG_STATE_HOME", dir, 1), 0);
    cr_assert_eq(ax__crash_log_set_node("a/b"), AX_EINVAL);
    cr_assert_eq(ax__crash_log_set_node("alpha"), 0);
    cr_assert_eq(ax_crash_log_set_path(""), AX_EINVAL);
    cr_assert_eq(ax_crash_log_set_path(NULL), 0);
    run_and_flush(one_crash);
    cr_assert_eq(ax_crash_log_set_path(db_path), AX_ESTATE);
    snprintf(path, sizeof(path), "%s/ax/alpha.db", dir);
    db = open_db(path);
    cr_assert_eq(query_int(db,
                           "SELECT count(*) FROM crash"
                           " WHERE node = 'alpha'",
                           NULL),
                 1);
    cr_assert_eq(query_int(db, "PRAGMA user_version", NULL), 3);
    query(db, "PRAGMA journal_mode", NULL, path, sizeof(path));
    cr_assert_str_eq(path, "wal");
    close_db(db);
    stop_node();
}

static void thousand_crashes(ax_term_t arg)
{
    (void)arg;
    storm(BATCH);
    wait_alone();
}

Test(crashlog, switching_carries_the_queue_over)
{
    struct crash_log_limits l = {.retry_ms = 60000};
    ax_node_opts_t o = {.schedulers = 2};
    struct crash_log_stats st;
    sqlite3 *db;

    capture_stderr();
    cr_assert_eq(ax_crash_log_set_path("/dev/null/crash.db"), 0);
    ax__crash_log_set_limits(&l);
    cr_assert_eq(ax_node_start(&o), 0);
    cr_assert_eq(ax_node_run(thousand_crashes, AX_NIL, NULL), 0);
    cr_assert_eq(ax__crash_log_flush(), AX_ESTATE);
    cr_assert_eq(ax__crash_log_open(db_path), 0);
    cr_assert_eq(ax__crash_log_flush(), 0);
    db = open_db(db_path);
    cr_assert_eq(query_int(db, "SELECT count(*) FROM crash", NULL), BATCH);
    close_db(db);
    ax__crash_log_stats(&st);
    cr_assert_eq(st.dropped, 0);
    stop_node();
}

/* --- Killed in a storm ---------------------------------------------------- */

/* Crashes processes for ever, a batch at a time, so that however slow
 * they are to exit they never fill the process table. */
static void endless_storm(ax_term_t arg)
{
    ax_node_stats_t st;

    (void)arg;
    for (;;) {
        storm(BATCH);
        do {
            ax_sleep(1);
            ax_node_stats(&st);
        } while (st.processes > 4 * BATCH);
    }
}

/* The child: a node crashing processes until it is killed. */
static _Noreturn void storm_child(void)
{
    ax_node_opts_t o = {.schedulers = 2};

    if (ax_node_start(&o) == 0)
        ax_node_run(endless_storm, AX_NIL, NULL);
    _exit(1);
}

/* Waits until the database holds at least n crash reports; returns how
 * many it saw. */
static long long wait_for_rows(long long n)
{
    long long seen = 0;
    sqlite3 *db;

    for (int i = 0; i < 600 && seen < n; i++) {
        usleep(50000);
        if (access(db_path, F_OK) != 0)
            continue;
        db = open_db(db_path);
        if (query_int(db, "PRAGMA user_version", NULL) == 3)
            seen = query_int(db, "SELECT count(*) FROM crash", NULL);
        close_db(db);
    }
    return seen;
}

Test(crashlog, sigkill_in_a_storm_leaves_an_intact_database, .timeout = 120)
{
    struct crash_log_limits l = {.max_rows = 100 * STORM};
    char check[64];
    long long seen;
    long long rows;
    sqlite3 *db;
    pid_t child;
    int status;

    ax__crash_log_set_limits(&l);
    fflush(NULL);
    child = fork();
    cr_assert_neq(child, -1);
    if (child == 0)
        storm_child();
    seen = wait_for_rows(20000);
    cr_assert_eq(kill(child, SIGKILL), 0);
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "the storm ended before it was killed (status %#x)", status);
    cr_assert_geq(seen, 20000);
    db = open_db(db_path);
    query(db, "PRAGMA integrity_check", NULL, check, sizeof(check));
    cr_assert_str_eq(check, "ok");
    rows = query_int(db, "SELECT count(*) FROM crash", NULL);
    cr_assert_geq(rows, seen);
    /* Whole transactions: no hole in the ids, every row complete. */
    cr_assert_eq(query_int(db, "SELECT max(id) - min(id) + 1 FROM crash", NULL),
                 rows);
    cr_assert_eq(query_int(db,
                           "SELECT count(*) FROM crash WHERE"
                           " reason = 'storm' AND pid LIKE '<0.%.%>'"
                           " AND time > 0 AND mailbox = '[]'"
                           " AND links = '[]' AND node = 'nonode'",
                           NULL),
                 rows);
    close_db(db);
}

/* --- A fatal fault's crash dump, imported at the next start --------------- */

/* test_fault.c: a store through NULL, here outside any process. */
void ax_test_fatal_here(void);

/* The child: a node on the test's database, then a fault outside any
 * process, which kills it and leaves a crash dump next to the database. */
static _Noreturn void fatal_child(void)
{
    int null = open("/dev/null", O_WRONLY);

    dup2(null, STDERR_FILENO); /* what kills it is no news here */
    if (ax_node_start(NULL) == 0)
        ax_test_fatal_here();
    _exit(1);
}

static void idle_root(ax_term_t arg)
{
    (void)arg;
}

static long long dump_rows(void)
{
    sqlite3 *db = open_db(db_path);
    long long n =
        query_int(db, "SELECT count(*) FROM crash WHERE dump IS NOT NULL", NULL);

    close_db(db);
    return n;
}

Test(crashlog, a_fatal_faults_dump_is_imported_once, .timeout = 60)
{
    char dump[MOD_PATH_LEN + 16];
    char imported[MOD_PATH_LEN + 32];
    char buf[8192];
    sqlite3 *db;
    pid_t child;
    int status;

    snprintf(dump, sizeof(dump), "%s/crash.dump", dir);
    snprintf(imported, sizeof(imported), "%s.imported", dump);
    fflush(NULL);
    child = fork();
    cr_assert_neq(child, -1);
    if (child == 0)
        fatal_child();
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
              "status %#x", status);
    cr_assert_eq(access(dump, F_OK), 0, "no crash dump at %s", dump);

    run_and_flush(idle_root);
    db = open_db(db_path);
    query(db, "SELECT pid || ' ' || reason FROM crash WHERE dump IS NOT NULL",
          NULL, buf, sizeof(buf));
    cr_assert_str_eq(buf, "none {fatal, sigsegv, 0}");
    cr_assert_eq(query_int(db,
                           "SELECT count(*) FROM crash WHERE node = 'nonode'"
                           " AND node_start > 0 AND node_start <= time"
                           " AND time > ?",
                           "0"),
                 1);
    query(db, "SELECT backtrace FROM crash", NULL, buf, sizeof(buf));
    cr_assert(strstr(buf, " ax_test_fatal_here (test-unit) "), "%s", buf);
    query(db, "SELECT dump FROM crash", NULL, buf, sizeof(buf));
    cr_assert(strstr(buf, "what: SIGSEGV at address 0x0 (pc 0x"), "%s", buf);
    cr_assert(strstr(buf, "\nsched: 0 ") && strstr(buf, "\nend: ok\n"), "%s",
              buf);
    cr_assert(!strstr(buf, "map: ") && !strstr(buf, "frame: "), "%s", buf);
    close_db(db);
    stop_node();
    cr_assert_neq(access(dump, F_OK), 0);
    cr_assert_eq(access(imported, F_OK), 0);

    /* A dump whose report is in already (its node died before renaming
     * it) is not written twice; nor is the next start an import. */
    cr_assert_eq(rename(imported, dump), 0);
    run_and_flush(idle_root);
    stop_node();
    cr_assert_neq(access(dump, F_OK), 0);
    run_and_flush(idle_root);
    stop_node();
    cr_assert_eq(dump_rows(), 1);
}

/* --- An older schema ------------------------------------------------------ */

/* Version 1, as its writer made it but for the indexes on time, module
 * and name, with a row of each table recent enough not to be pruned. */
static const char schema_v1[] =
    "CREATE TABLE crash (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time INTEGER NOT NULL, node TEXT NOT NULL, node_start INTEGER NOT NULL,"
    " pid TEXT NOT NULL, name TEXT, module TEXT, version TEXT,"
    " reason TEXT NOT NULL, last_message TEXT, state TEXT, mailbox TEXT,"
    " links TEXT, monitors TEXT, ancestors TEXT, backtrace TEXT,"
    " mailbox_len INTEGER NOT NULL, reductions INTEGER NOT NULL,"
    " heap_words INTEGER NOT NULL, supervisor TEXT, child_id TEXT,"
    " restarts INTEGER);"
    "CREATE TABLE supervisor_report (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time INTEGER NOT NULL, node TEXT NOT NULL, node_start INTEGER NOT NULL,"
    " supervisor TEXT NOT NULL, sup_name TEXT, event TEXT NOT NULL,"
    " child_id TEXT, child_pid TEXT, new_pid TEXT, reason TEXT,"
    " restarts INTEGER NOT NULL);"
    "CREATE INDEX crash_pid ON crash (pid);"
    "CREATE INDEX supervisor_report_child ON supervisor_report (child_pid);"
    "INSERT INTO crash (time, node, node_start, pid, reason, mailbox_len,"
    " reductions, heap_words)"
    " VALUES (CAST(strftime('%s', 'now') AS INTEGER) * 1000000, 'old', 1,"
    " '<0.12.3>', 'old', 0, 0, 0);"
    "INSERT INTO supervisor_report (time, node, node_start, supervisor,"
    " event, child_pid, restarts)"
    " VALUES (CAST(strftime('%s', 'now') AS INTEGER) * 1000000, 'old', 1,"
    " '<0.1.0>', 'restart', '<0.7.250>', 1);"
    "PRAGMA user_version = 1;";

static void crash_once(ax_term_t arg)
{
    (void)arg;
    spawn_and_wait(exit_with, A("new"));
}

Test(crashlog, a_version_1_database_is_migrated)
{
    char buf[256];
    sqlite3 *db;

    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, schema_v1, NULL, NULL, NULL), SQLITE_OK);
    close_db(db);
    run_and_flush(crash_once);
    db = open_db(db_path);
    cr_assert_eq(query_int(db, "PRAGMA user_version", NULL), 3);
    cr_assert_eq(query_int(db,
                           "SELECT count(*) FROM crash WHERE dump IS NULL AND"
                           " reason IN ('old', 'new')",
                           NULL),
                 2);
    /* Version 3: the pids' keys, for the rows before it too, and the
     * indexes on them. */
    cr_assert_eq(
        query_int(db, "SELECT pid_key FROM crash WHERE pid = ?", "<0.12.3>"),
        pid_key_of("<0.12.3>"));
    query(db, "SELECT pid FROM crash WHERE reason = 'new'", NULL, buf,
          sizeof(buf));
    cr_assert_eq(query_int(db, "SELECT pid_key FROM crash WHERE pid = ?", buf),
                 pid_key_of(buf));
    cr_assert_eq(query_int(db, "SELECT child_key FROM supervisor_report", NULL),
                 pid_key_of("<0.7.250>"));
    query(db, "SELECT sql FROM sqlite_master WHERE name = 'crash_pid'", NULL,
          buf, sizeof(buf));
    cr_assert(strstr(buf, "(pid_key)"), "%s", buf);
    query(db,
          "SELECT sql FROM sqlite_master"
          " WHERE name = 'supervisor_report_child'",
          NULL, buf, sizeof(buf));
    cr_assert(strstr(buf, "(child_key)"), "%s", buf);
    close_db(db);
    stop_node();
}

/* --- A restart loop faster than the writer -------------------------------- */

#define LOOP_RESTARTS 2000

/* Crashes a supervised worker LOOP_RESTARTS times, each time waiting for
 * its successor. */
static void restart_loop(ax_term_t arg)
{
    ax_term_t sup;
    ax_term_t why;
    ax_term_t child;

    (void)arg;
    ax_trap_exit(true);
    CHECK(ax_module_add_path(dir) == 0);
    CHECK(ax_supervisor_start(
              AX_NONE, sup_flags(10 * LOOP_RESTARTS),
              ax_list_v(ax_heap(), 1, (ax_term_t[]){child_spec("w")}), &sup,
              &why) == 0);
    child = started("w");
    for (int i = 0; i < LOOP_RESTARTS; i++) {
        ax_cast(child, T2(A("exit"), A("again")));
        child = started("w");
    }
    CHECK(ax_gen_stop(sup, A("shutdown"), 5000) == 0);
}

Test(crashlog, a_restart_loop_is_paced_and_loses_nothing, .timeout = 120)
{
    struct crash_log_limits l = {.max_queued = 20};
    char out[MOD_PATH_LEN + 16];
    struct crash_log_stats st;
    sqlite3 *db;

    snprintf(out, sizeof(out), "%s/sup_worker.so", dir);
    mod_build("sup_worker.c", out);
    ax__crash_log_set_limits(&l);
    run_and_flush(restart_loop);
    ax__crash_log_stats(&st);
    cr_assert_eq(st.dropped, 0);
    db = open_db(db_path);
    cr_assert_eq(query_int(db, "SELECT count(*) FROM crash WHERE"
                               " reason = 'again' AND supervisor IS NOT NULL",
                           NULL),
                 LOOP_RESTARTS);
    cr_assert_eq(query_int(db, "SELECT count(*) FROM supervisor_report WHERE"
                               " event = 'restart'",
                           NULL),
                 LOOP_RESTARTS);
    close_db(db);
    stop_node();
}
