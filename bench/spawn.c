/*
 * spawn - one million idle processes, each waiting in receive: the time
 * to spawn one (until all have run and wait), the memory each costs
 * (resident bytes over the node's before and after, per process), and
 * the time to tear one down (kill, until all are gone). The BEAM: 3.1 us
 * and 2,648 bytes; the target: 0.3 us, 400 bytes, 0.3 us teardown.
 */
#include <unistd.h>

#include "bench.h"

#define N 1000000
#define RUNS 3

static ax_term_t idle(ax_term_t msg, ax_term_t state)
{
    (void)msg;
    return state;
}

static long resident_bytes(void)
{
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        long size;

        if (fscanf(f, "%ld %ld", &size, &pages) != 2)
            pages = 0;
        fclose(f);
    }
    return pages * sysconf(_SC_PAGESIZE);
}

/* Waits until no scheduler has anything queued: every process ran. */
static void wait_all_idle(void)
{
    ax_node_stats_t st;
    ax_sched_stats_t ss;
    size_t queued;

    do {
        queued = 0;
        ax_node_stats(&st);
        for (unsigned i = 0; i < st.schedulers; i++)
            if (ax_sched_stats(i, &ss) == 0)
                queued += ss.run_queue;
        if (queued)
            ax_yield();
    } while (queued);
}

static void wait_all_gone(void)
{
    ax_node_stats_t st;

    for (;;) {
        ax_node_stats(&st);
        if (st.processes <= 1)
            return;
        ax_yield();
    }
}

static ax_term_t *pids;

static void root(ax_term_t arg)
{
    double spawn_us[RUNS];
    double kill_us[RUNS];
    double bytes = 0;

    (void)arg;
    for (int r = 0; r < RUNS; r++) {
        long rss0 = resident_bytes();
        uint64_t t0 = bench_now_ns();

        for (int i = 0; i < N; i++)
            BENCH_CHECK(ax_spawn_handler(idle, AX_NIL, &pids[i]) == 0);
        wait_all_idle();
        spawn_us[r] = (double)(bench_now_ns() - t0) / 1e3 / N;
        /* The first run pays for the process table's slots; later ones
         * reuse them, so only it tells what a million processes cost. */
        if (r == 0)
            bytes = (double)(resident_bytes() - rss0) / N;
        t0 = bench_now_ns();
        for (int i = 0; i < N; i++)
            ax_exit_signal(pids[i], ax_atom("kill"));
        wait_all_gone();
        kill_us[r] = (double)(bench_now_ns() - t0) / 1e3 / N;
    }
    printf("spawn %.3f us\n", bench_median(spawn_us, RUNS));
    printf("spawn_memory %.0f bytes\n", bytes);
    printf("spawn_teardown %.3f us\n", bench_median(kill_us, RUNS));
    printf("spawn_sizeof_proc %zu bytes\n", (size_t)ax_process_size());
}

int main(void)
{
    pids = malloc(N * sizeof(*pids));
    bench_run_node(root, AX_NIL);
    free(pids);
    return 0;
}
