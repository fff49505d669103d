/*
 * selective - a request/reply where the reply lands behind 10,000
 * unrelated messages already queued: the time per round trip (target
 * 2 us). The receive names the reference made just before the request,
 * so it starts after the queued messages (the receive marker) instead of
 * scanning them all.
 */
#include "bench.h"

#define QUEUED 10000
#define REQUESTS 100000
#define RUNS 5

/* Replies {reply, Ref, ok} to {From, Ref}. */
static ax_term_t server(ax_term_t msg, ax_term_t state)
{
    ax_send(ax_tuple_get(msg, 0),
            ax_tuple(ax_heap(), 3, ax_atom("reply"), ax_tuple_get(msg, 1),
                     ax_atom("ok")));
    return state;
}

static void root(ax_term_t arg)
{
    double us[RUNS];
    ax_term_t srv;
    ax_term_t m;

    (void)arg;
    BENCH_CHECK(ax_spawn_handler(server, AX_NIL, &srv) == 0);
    for (int i = 0; i < QUEUED; i++)
        ax_send(ax_self(), ax_atom("unrelated"));
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = bench_now_ns();

        for (int i = 0; i < REQUESTS; i++) {
            ax_term_t ref = ax_make_ref(NULL);

            ax_send(srv, ax_tuple(ax_heap(), 2, ax_self(), ref));
            BENCH_CHECK(ax_receive(ax_tuple(ax_heap(), 3, ax_atom("reply"),
                                            ref, AX_ANY),
                                   5000, &m, NULL) == 0);
            if (i % 1024 == 0)
                ax_gc(NULL, 0);
        }
        us[r] = (double)(bench_now_ns() - t0) / 1e3 / REQUESTS;
    }
    printf("selective %.3f us\n", bench_median(us, RUNS));
}

int main(void)
{
    bench_run_node(root, AX_NIL);
    return 0;
}
