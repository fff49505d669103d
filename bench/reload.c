/*
 * reload - hot code loading with 10,000 servers running a module: how
 * long loading a new version takes, how long until every server has moved
 * to it (each at its next message, through code_change), and the longest
 * stall a caller sees meanwhile (a process calling one server in a loop
 * records the longest gap between two replies).
 */
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

#define SERVERS 10000
#define RUNS 5

static ax_term_t servers[SERVERS];
static char path[256];

/* Calls the server given until told to stop; reports the longest gap. */
static void pinger(ax_term_t srv)
{
    uint64_t last = bench_now_ns();
    uint64_t worst = 0;
    ax_term_t stop = ax_tuple(ax_heap(), 2, ax_atom("stop"), AX_VAR(0));
    ax_term_t b[AX_VARS_MAX];
    ax_term_t r;
    ax_term_t m;

    while (ax_receive(stop, 0, &m, b) != 0) {
        uint64_t now;

        ax_call(srv, ax_atom("get"), AX_CALL_TIMEOUT, &r);
        now = bench_now_ns();
        if (now - last > worst)
            worst = now - last;
        last = now;
    }
    ax_send(b[0], ax_int(ax_heap(), (int64_t)worst));
}

static void root(ax_term_t arg)
{
    double load_ms[RUNS];
    double move_ms[RUNS];
    double stall_us[RUNS];
    ax_term_t p;
    ax_term_t r;
    ax_term_t m;
    int64_t worst;

    (void)arg;
    for (int i = 0; i < SERVERS; i++)
        BENCH_CHECK(ax_gen_start(ax_atom("counter"), AX_NIL, NULL,
                                 &servers[i], NULL) == 0);
    for (int run = 0; run < RUNS; run++) {
        uint64_t t0;

        BENCH_CHECK(ax_spawn(pinger, servers[0], &p) == 0);
        ax_sleep(20);
        t0 = bench_now_ns();
        BENCH_CHECK(ax_module_load(path, NULL, NULL) == 0);
        load_ms[run] = (double)(bench_now_ns() - t0) / 1e6;
        for (int i = 0; i < SERVERS; i++)
            ax_cast(servers[i], ax_atom("inc"));
        BENCH_CHECK(ax_call(servers[SERVERS - 1], ax_atom("get"),
                            AX_CALL_TIMEOUT, &r) == 0);
        move_ms[run] = (double)(bench_now_ns() - t0) / 1e6;
        ax_send(p, ax_tuple(ax_heap(), 2, ax_atom("stop"), ax_self()));
        BENCH_CHECK(ax_receive(AX_ANY, 10000, &m, NULL) == 0);
        ax_get_int(m, &worst);
        stall_us[run] = (double)worst / 1e3;
    }
    printf("reload_load %.2f ms\n", bench_median(load_ms, RUNS));
    printf("reload_all_moved %.2f ms\n", bench_median(move_ms, RUNS));
    printf("reload_max_stall %.0f us\n", bench_median(stall_us, RUNS));
}

int main(void)
{
    /* A private copy, so the loads do not disturb build/examples. */
    char dir[] = "/tmp/ax-bench-reload-XXXXXX";
    char cmd[512];

    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/counter.so", dir);
    snprintf(cmd, sizeof(cmd), "cp build/examples/counter.so %s", path);
    if (system(cmd) != 0)
        return 1;
    ax_module_add_path(dir);
    bench_run_node(root, AX_NIL);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) != 0;
}
