/*
 * restart - one_for_one restarts per second of a worker that crashes on
 * demand (tests/modules/sup_worker.c: a cast makes it exit): the root
 * crashes it and waits until the new one says it started, so each
 * restart is timed whole (the exit signal, the supervisor's decision,
 * the start of a new gen_server), with the crash log on: every restart
 * leaves a crash report and a supervisor report, and a run's time ends
 * when the last of its reports is committed to the database. Target:
 * 30,000 restarts/s with every report persisted (the BEAM, its logger
 * writing crash reports to a file: 1,800/s).
 *
 * Then, within one period at a high intensity, the cost of the last
 * 1,000 of 100,000 restarts over that of the first 1,000: it must not
 * grow with the restarts already made (restart_late_vs_early, at most
 * about 1).
 *
 * Last, the reports the database lacks: the rows of the crash and
 * supervisor_report tables against the restarts made, plus any the log
 * says it dropped (restart_logged_lost, which must be 0).
 */
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "crash/log.h"

#define RUNS 5
#define RATE_RESTARTS 20000
#define LONG_RESTARTS 100000
#define WINDOW 1000
#define LONG_RUNS 5

static char dir[256];
static char db[300];
static uint64_t restarts; /* made in all, so reports expected */

/* Builds the worker module into a new directory: 0, or -1. */
static int build_worker(void)
{
    char out[512];
    char *argv[] = {"cc", "-shared", "-fPIC", "-O2", "-std=c11",
                    "-D_GNU_SOURCE", "-Iruntime", "-o", out,
                    "tests/modules/sup_worker.c", NULL};
    pid_t pid;
    int st;

    snprintf(dir, sizeof(dir), "/tmp/ax-bench-restart-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(out, sizeof(out), "%s/sup_worker.so", dir);
    if (posix_spawnp(&pid, "cc", NULL, NULL, argv, environ) ||
        waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
        return -1;
    return 0;
}

static void remove_files(void)
{
    static const char *const names[] = {"sup_worker.so", "restart.db",
                                        "restart.db-wal", "restart.db-shm"};
    char path[512];

    if (!dir[0])
        return;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* Waits until the log has committed every report of the restarts made
 * so far (each makes two). */
static void wait_logged(void)
{
    struct crash_log_stats st;

    for (;;) {
        ax__crash_log_stats(&st);
        BENCH_CHECK(st.dropped == 0 && !st.failing);
        if (st.written >= 2 * restarts)
            return;
        ax_sleep(1);
    }
}

/* A one_for_one supervisor of one sup_worker, which it may restart
 * `intensity` times an hour; *pid gets the worker. */
static ax_term_t supervise(int64_t intensity, ax_term_t *pid)
{
    ax_heap_t *h = ax_heap();
    ax_term_t fk[] = {ax_atom("intensity"), ax_atom("period")};
    ax_term_t fv[] = {ax_int(h, intensity), ax_int(h, 3600)};
    ax_term_t args = ax_list_v(h, 2, (ax_term_t[]){ax_self(), ax_atom("w")});
    ax_term_t ck[] = {ax_atom("id"), ax_atom("start")};
    ax_term_t cv[] = {ax_atom("w"),
                      ax_tuple(h, 2, ax_atom("sup_worker"), args)};
    ax_term_t kids = ax_cons(h, ax_map_from(h, 2, ck, cv), AX_NIL);
    ax_term_t sup;
    ax_term_t m;

    BENCH_CHECK(ax_supervisor_start(AX_NONE, ax_map_from(h, 2, fk, fv), kids,
                                    &sup, NULL) == 0);
    BENCH_CHECK(ax_receive(AX_ANY, 5000, &m, NULL) == 0);
    *pid = ax_tuple_get(m, 2);
    return sup;
}

/* Crashes the worker n times, each time waiting for its successor;
 * *pid is the worker before and after. */
static void restart_n(ax_term_t *pid, int n)
{
    ax_term_t boom = ax_tuple(ax_heap(), 2, ax_atom("exit"), ax_atom("boom"));
    ax_term_t m;

    for (int i = 0; i < n; i++) {
        ax_cast(*pid, boom);
        /* {terminated, w, boom} from the old one, then {started, w, New} */
        BENCH_CHECK(ax_receive(AX_ANY, 5000, &m, NULL) == 0);
        BENCH_CHECK(ax_receive(AX_ANY, 5000, &m, NULL) == 0);
        *pid = ax_tuple_get(m, 2);
    }
    restarts += (uint64_t)n;
    ax_gc(pid, 1);
}

/* Stops sup as its parent, and takes its 'DOWN' and 'EXIT'. */
static void stop(ax_term_t sup)
{
    ax_heap_t *h = ax_heap();
    ax_term_t ref;
    ax_term_t m;

    ax_monitor(sup, &ref);
    ax_exit_signal(sup, ax_atom("shutdown"));
    BENCH_CHECK(ax_receive(ax_tuple(h, 5, ax_atom("DOWN"), ref, AX_ANY,
                                    AX_ANY, AX_ANY),
                           5000, &m, NULL) == 0);
    BENCH_CHECK(ax_receive(ax_tuple(h, 3, ax_atom("EXIT"), sup, AX_ANY), 0,
                           &m, NULL) == 0);
    ax_gc(NULL, 0);
}

static double rate(void)
{
    ax_term_t pid;
    ax_term_t sup = supervise(10 * RATE_RESTARTS, &pid);
    uint64_t t0 = bench_now_ns();

    restart_n(&pid, RATE_RESTARTS);
    wait_logged();
    t0 = bench_now_ns() - t0;
    stop(sup);
    return RATE_RESTARTS / ((double)t0 / 1e9);
}

/* The last WINDOW restarts' time over the first WINDOW's, of
 * LONG_RESTARTS within one period. */
static double late_vs_early(void)
{
    ax_term_t pid;
    ax_term_t sup = supervise(10 * LONG_RESTARTS, &pid);
    uint64_t t0 = bench_now_ns();
    uint64_t early;

    restart_n(&pid, WINDOW);
    early = bench_now_ns() - t0;
    for (int done = WINDOW; done < LONG_RESTARTS - WINDOW; done += WINDOW)
        restart_n(&pid, WINDOW);
    t0 = bench_now_ns();
    restart_n(&pid, WINDOW);
    t0 = bench_now_ns() - t0;
    stop(sup);
    wait_logged();
    return (double)t0 / (double)early;
}

static void root(ax_term_t arg)
{
    double v[RUNS];

    (void)arg;
    ax_trap_exit(true);
    BENCH_CHECK(ax_module_add_path(dir) == 0);
    for (int r = 0; r < RUNS; r++)
        v[r] = rate();
    printf("restart %.0f restarts/s\n", bench_median(v, RUNS));
    for (int r = 0; r < LONG_RUNS; r++)
        v[r] = late_vs_early();
    printf("restart_late_vs_early %.2f x\n", bench_median(v, LONG_RUNS));
}

/* The count sql gives on the database; -1 if it cannot be read. */
static long long count(sqlite3 *d, const char *sql)
{
    sqlite3_stmt *s;
    long long n = -1;

    if (sqlite3_prepare_v2(d, sql, -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* The reports the database lacks, after the node's stop wrote them all. */
static long long lost(void)
{
    struct crash_log_stats st;
    sqlite3 *d;
    long long crashes;
    long long sups;

    ax__crash_log_stats(&st);
    if (sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    crashes = count(d, "SELECT count(*) FROM crash WHERE reason = 'boom'");
    sups = count(d, "SELECT count(*) FROM supervisor_report"
                    " WHERE event = 'restart'");
    sqlite3_close(d);
    if (crashes < 0 || sups < 0)
        return -1;
    return 2 * (long long)restarts - crashes - sups + (long long)st.dropped;
}

int main(void)
{
    struct crash_log_limits l = {.max_rows = 100000000};

    atexit(remove_files); /* also when the benchmark fails */
    if (build_worker()) {
        fprintf(stderr, "restart: cannot build tests/modules/sup_worker.c "
                        "(run from the repository's top directory)\n");
        return 1;
    }
    snprintf(db, sizeof(db), "%s/restart.db", dir);
    ax__crash_log_set_limits(&l);
    if (ax_crash_log_set_path(db) != 0) {
        fprintf(stderr, "restart: cannot set the crash log's path\n");
        return 1;
    }
    bench_run_node(root, AX_NIL);
    printf("restart_logged_lost %lld reports\n", lost());
    return 0;
}
