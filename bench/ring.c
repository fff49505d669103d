/*
 * ring - a token passed round a ring of N processes M times: hops per
 * second, for N=1,000, M=1,000 (the BEAM: 1.5 M hops/s; target 10 M) and
 * N=100,000, M=10 (the BEAM: 1.2 M; target 6 M).
 */
#include "bench.h"

#define RUNS 5

/* State: {Next, Root}. A message is the hops left; the process that
 * takes the last hop tells the root. */
static ax_term_t hop(ax_term_t msg, ax_term_t state)
{
    int64_t n;

    ax_get_int(msg, &n);
    if (n == 0)
        ax_send(ax_tuple_get(state, 1), ax_atom("done"));
    else
        ax_send(ax_tuple_get(state, 0), ax_int(ax_heap(), n - 1));
    return state;
}

/* The ring's first process closes it: told its next by a pid. */
static ax_term_t first(ax_term_t msg, ax_term_t state)
{
    if (ax_is_pid(msg))
        return ax_tuple(ax_heap(), 2, msg, ax_tuple_get(state, 1));
    return hop(msg, state);
}

static double ring(int64_t n, int64_t m)
{
    ax_term_t head;
    ax_term_t next;
    ax_term_t msg;
    uint64_t t0;
    double rate;

    BENCH_CHECK(ax_spawn_handler(first,
                                 ax_tuple(ax_heap(), 2, AX_NIL, ax_self()),
                                 &head) == 0);
    next = head;
    for (int64_t i = 1; i < n; i++)
        BENCH_CHECK(ax_spawn_handler(hop,
                                     ax_tuple(ax_heap(), 2, next, ax_self()),
                                     &next) == 0);
    ax_send(head, next);
    t0 = bench_now_ns();
    ax_send(head, ax_int(ax_heap(), n * m - 1));
    BENCH_CHECK(ax_receive(ax_atom("done"), 120000, &msg, NULL) == 0);
    rate = (double)(n * m) / ((double)(bench_now_ns() - t0) / 1e9);
    ax_exit_signal(head, ax_atom("kill")); /* the rest stay idle: cheap */
    return rate;
}

static void root(ax_term_t arg)
{
    static const int64_t shapes[][2] = {{1000, 1000}, {100000, 10}};
    double rate[RUNS];

    (void)arg;
    for (size_t s = 0; s < 2; s++) {
        for (int r = 0; r < RUNS; r++)
            rate[r] = ring(shapes[s][0], shapes[s][1]);
        printf("ring_%lld_x_%lld %.2f M hops/s\n", (long long)shapes[s][0],
               (long long)shapes[s][1], bench_median(rate, RUNS) / 1e6);
    }
}

int main(void)
{
    bench_run_node(root, AX_NIL);
    return 0;
}
