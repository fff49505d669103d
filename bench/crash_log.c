/*
 * crash_log - the crash log under a storm: 100,000 processes spawned at
 * once that exit abnormally, each leaving a crash report.
 *
 *   crash_log               reports persisted per second: from the
 *                           storm's first spawn until the last report is
 *                           committed (ax__crash_log_flush)
 *   crash_log_stall         the longest gap between two replies of a
 *                           ping-pong pair running meanwhile, until the
 *                           log is flushed
 *   crash_log_stall_without the same storm with the crash log closed
 *                           (the same exits, no report built or
 *                           written), the pair watched as long (the
 *                           longer one watches, the likelier a rare
 *                           gap): what the log adds to the stall is the
 *                           difference (target: none)
 *   crash_log_stall_spare_busy
 *                           the same storm with the log closed, and a
 *                           thread spinning in the kernel's idle class
 *                           (SCHED_IDLE) meanwhile, watched as long:
 *                           what the pair suffers on this machine when
 *                           the core the schedulers leave idle is used
 *                           at the lowest priority there is, for
 *                           anything. The log writes its reports on that
 *                           core (log.h): its stall is to be compared
 *                           with this one too
 *
 * Each run starts a node on a fresh database in a temporary directory.
 * Medians of RUNS runs.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"
#include "crash/log.h"

#define RUNS 5
#define STORM 100000
#define BATCH 1000

static char dir[256];
static uint64_t storm_start_ns;
static uint64_t watch_ns; /* how long the run with reports watched */
/* The pinger's stop flag and its result: release by the writer,
 * acquire by the reader, so the result is seen with the flag. */
static atomic_bool stop_ping;
static atomic_bool ping_done;
static _Atomic(uint64_t) max_gap_ns;
static atomic_bool stop_spin;

/* What a run does beside the storm and the pair. */
enum mode { LOG, CLOSED, SPARE_BUSY };

static void exit_with(ax_term_t reason)
{
    ax_exit(reason);
}

/* Answers each pid it is sent with pong, until it gets stop. */
static void ponger(ax_term_t arg)
{
    ax_term_t m;

    (void)arg;
    for (;;) {
        ax_receive(AX_ANY, AX_INFINITY, &m, NULL);
        if (!ax_is_pid(m))
            return;
        ax_send(m, ax_atom("pong"));
    }
}

/* Pings the ponger until told to stop; notes the longest gap between
 * two pongs. */
static void pinger(ax_term_t pong_pid)
{
    uint64_t last = bench_now_ns();
    uint64_t max = 0;
    ax_term_t m;

    while (!atomic_load_explicit(&stop_ping, memory_order_acquire)) {
        uint64_t now;

        ax_send(pong_pid, ax_self());
        ax_receive(ax_atom("pong"), AX_INFINITY, &m, NULL);
        now = bench_now_ns();
        if (now - last > max)
            max = now - last;
        last = now;
    }
    ax_send(pong_pid, ax_atom("stop"));
    atomic_store_explicit(&max_gap_ns, max, memory_order_relaxed);
    atomic_store_explicit(&ping_done, true, memory_order_release);
}

/* Starts the pair, then the storm (processes exiting with reason), and
 * waits until the storm is over. */
static void root(ax_term_t reason)
{
    ax_node_stats_t st;
    ax_term_t pong_pid;

    BENCH_CHECK(ax_spawn(ponger, AX_NIL, &pong_pid) == 0);
    BENCH_CHECK(ax_spawn(pinger, pong_pid, NULL) == 0);
    ax_sleep(10);
    storm_start_ns = bench_now_ns();
    for (int i = 0; i < STORM; i++) {
        BENCH_CHECK(ax_spawn(exit_with, reason, NULL) == 0);
        if (i % BATCH == BATCH - 1)
            ax_yield();
    }
    do {
        ax_sleep(1);
        ax_node_stats(&st);
    } while (st.processes > 3); /* the root and the pair */
}

static void fail(const char *what)
{
    fprintf(stderr, "crash_log: %s failed\n", what);
    exit(1);
}

/* Spins in the idle class until told to stop. */
static void *spinner(void *arg)
{
    struct sched_param none = {0};
    volatile uint64_t spins = 0;

    (void)arg;
    if (sched_setscheduler(0, SCHED_IDLE, &none) != 0)
        fail("SCHED_IDLE");
    while (!atomic_load_explicit(&stop_spin, memory_order_relaxed))
        spins++;
    return NULL;
}

/* One storm on a fresh node and database, as mode says; *rate gets the
 * reports persisted per second, *stall_us the pair's longest gap. */
static void run(enum mode mode, int n, double *rate, double *stall_us)
{
    bool log = mode == LOG;
    pthread_t spin;
    char path[512];
    uint64_t end;

    snprintf(path, sizeof(path), "%s/run%d.db", dir, n);
    atomic_store(&stop_ping, false);
    atomic_store(&ping_done, false);
    atomic_store(&stop_spin, false);
    if (ax_crash_log_set_path(path) || ax_node_start(NULL))
        fail("starting a node");
    if (!log)
        ax__crash_log_close();
    if (mode == SPARE_BUSY && pthread_create(&spin, NULL, spinner, NULL))
        fail("pthread_create");
    if (ax_node_run(root, ax_atom("boom"), NULL) != 0)
        fail("the storm");
    if (log && ax__crash_log_flush() != 0)
        fail("flushing the log");
    end = bench_now_ns();
    if (!log) /* watch as long as with the log */
        while (bench_now_ns() < storm_start_ns + watch_ns)
            usleep(1000);
    else
        watch_ns = end - storm_start_ns;
    atomic_store(&stop_spin, true);
    if (mode == SPARE_BUSY)
        pthread_join(spin, NULL);
    atomic_store_explicit(&stop_ping, true, memory_order_release);
    while (!atomic_load_explicit(&ping_done, memory_order_acquire))
        usleep(100);
    ax_node_stop();
    *rate = STORM / ((double)(end - storm_start_ns) / 1e9);
    *stall_us = (double)atomic_load(&max_gap_ns) / 1e3;
}

/* Removes the databases of the runs, then the directory. */
static void clean(void)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char path[512];

    for (int n = 0; n < 3 * RUNS; n++)
        for (size_t i = 0; i < 3; i++) {
            snprintf(path, sizeof(path), "%s/run%d.db%s", dir, n, suffixes[i]);
            unlink(path);
        }
    rmdir(dir);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    double rate[RUNS];
    double stall[RUNS];
    double without[RUNS];
    double spare_busy[RUNS];
    double ignored;

    snprintf(dir, sizeof(dir), "%s/ax-bench-crash-log-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        fail("mkdtemp");
    for (int r = 0; r < RUNS; r++) {
        run(LOG, 3 * r, &rate[r], &stall[r]);
        run(CLOSED, 3 * r + 1, &ignored, &without[r]);
        run(SPARE_BUSY, 3 * r + 2, &ignored, &spare_busy[r]);
    }
    clean();
    printf("crash_log %.0f reports/s\n", bench_median(rate, RUNS));
    printf("crash_log_stall %.0f us\n", bench_median(stall, RUNS));
    printf("crash_log_stall_without %.0f us\n", bench_median(without, RUNS));
    printf("crash_log_stall_spare_busy %.0f us\n",
           bench_median(spare_busy, RUNS));
    return 0;
}
