/*
 * fanin - 1,000 senders each sending 1,000 messages to one receiver:
 * messages per second through one mailbox (the BEAM: 3.1 M/s; target
 * 15 M/s). The receiver is a handler process counting to a million.
 */
#include "bench.h"

#define SENDERS 1000
#define EACH 1000
#define RUNS 5

static ax_term_t root_pid;

/* State: the count so far. */
static ax_term_t count(ax_term_t msg, ax_term_t state)
{
    int64_t n;

    (void)msg;
    ax_get_int(state, &n);
    if (++n == (int64_t)SENDERS * EACH)
        ax_send(root_pid, ax_atom("done"));
    return ax_int(ax_heap(), n);
}

static void sender(ax_term_t to)
{
    ax_term_t msg = ax_atom("msg");
    ax_term_t m;

    ax_receive(ax_atom("go"), AX_INFINITY, &m, NULL);
    for (int i = 0; i < EACH; i++)
        ax_send(to, msg);
}

static void root(ax_term_t arg)
{
    static ax_term_t senders[SENDERS];
    double rate[RUNS];
    ax_term_t m;

    (void)arg;
    for (int r = 0; r < RUNS; r++) {
        ax_term_t rx;
        uint64_t t0;

        root_pid = ax_self();
        BENCH_CHECK(ax_spawn_handler(count, ax_int(NULL, 0), &rx) == 0);
        for (int i = 0; i < SENDERS; i++)
            BENCH_CHECK(ax_spawn(sender, rx, &senders[i]) == 0);
        ax_sleep(10); /* let them all reach their receive */
        t0 = bench_now_ns();
        for (int i = 0; i < SENDERS; i++)
            ax_send(senders[i], ax_atom("go"));
        BENCH_CHECK(ax_receive(ax_atom("done"), 60000, &m, NULL) == 0);
        rate[r] = (double)SENDERS * EACH /
                  ((double)(bench_now_ns() - t0) / 1e9);
        ax_exit_signal(rx, ax_atom("kill"));
    }
    printf("fanin %.2f M msgs/s\n", bench_median(rate, RUNS) / 1e6);
}

int main(void)
{
    bench_run_node(root, AX_NIL);
    return 0;
}
