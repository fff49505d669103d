/*
 * call - gen_server call round trips per second: one process calling the
 * echo module (examples/echo.c) in a loop. The BEAM does 466,000 calls/s
 * here (CAF's request/response 675,000); the target is 2,000,000.
 */
#include "bench.h"

#define CALLS 500000
#define RUNS 5

static void root(ax_term_t arg)
{
    double rate[RUNS];
    ax_term_t srv;
    ax_term_t reply;
    ax_term_t req = ax_atom("ping");

    (void)arg;
    BENCH_CHECK(ax_gen_start(ax_atom("echo"), AX_NIL, NULL, &srv, NULL) ==
                0);
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = bench_now_ns();

        for (int i = 0; i < CALLS; i++) {
            BENCH_CHECK(ax_call(srv, req, AX_CALL_TIMEOUT, &reply) == 0);
            if (i % 1024 == 0)
                ax_gc(&req, 1);
        }
        rate[r] = CALLS / ((double)(bench_now_ns() - t0) / 1e9);
    }
    printf("call %.0f calls/s\n", bench_median(rate, RUNS));
}

int main(void)
{
    ax_module_add_path("build/examples");
    bench_run_node(root, AX_NIL);
    return 0;
}
