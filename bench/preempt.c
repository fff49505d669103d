/*
 * preempt - runaway code on one scheduler (examples/runaway.so, a server
 * whose cast `loop` spins for ever): the round trips per second of a
 * ping-pong pair alone and beside the loop (its share should be about
 * half: the watchdog gives each a slice time in turn), and how long
 * `exit(Pid, kill)` takes to end the loop while a ping-pong pair keeps
 * the scheduler busy (target: within 50 ms).
 */
#include <stdio.h>

#include "bench.h"

#define WINDOW_NS 500000000ull
#define KILLS 9

static ax_term_t A(const char *name)
{
    return ax_atom(name);
}

static void echo(ax_term_t arg)
{
    ax_term_t m;

    (void)arg;
    while (ax_receive(AX_ANY, AX_INFINITY, &m, NULL) == 0)
        ax_send(ax_tuple_get(m, 0), ax_tuple_get(m, 1));
}

/* Ping-pongs with the echo process given until killed. */
static void player(ax_term_t peer)
{
    ax_term_t m;

    for (;;) {
        ax_send(peer, ax_tuple(ax_heap(), 2, ax_self(), A("ping")));
        ax_receive(A("ping"), AX_INFINITY, &m, NULL);
    }
}

/* Round trips per second with peer over WINDOW_NS. */
static double pingpong(ax_term_t peer)
{
    uint64_t t0 = bench_now_ns();
    uint64_t n = 0;
    uint64_t t;
    ax_term_t m;

    do {
        for (int i = 0; i < 64; i++) {
            ax_send(peer, ax_tuple(ax_heap(), 2, ax_self(), A("ping")));
            BENCH_CHECK(ax_receive(A("ping"), 5000, &m, NULL) == 0);
        }
        n += 64;
        t = bench_now_ns();
    } while (t - t0 < WINDOW_NS);
    return (double)n * 1e9 / (double)(t - t0);
}

static ax_term_t start_loop(void)
{
    ax_term_t pid;

    BENCH_CHECK(ax_gen_start(A("runaway"), A("none"), NULL, &pid, NULL) ==
                0);
    BENCH_CHECK(ax_cast(pid, A("loop")) == 0);
    return pid;
}

/* Milliseconds from the kill of a looping server to its 'DOWN'. */
static double kill_ms(void)
{
    ax_term_t pid = start_loop();
    ax_term_t mref;
    ax_term_t m;
    uint64_t t0;

    ax_sleep(30); /* let it be deep in its loop, and preempted */
    BENCH_CHECK(ax_monitor(pid, &mref) == 0);
    t0 = bench_now_ns();
    BENCH_CHECK(ax_exit_signal(pid, A("kill")) == 0);
    BENCH_CHECK(ax_receive(ax_tuple(ax_heap(), 5, A("DOWN"), mref, AX_ANY,
                                    AX_ANY, AX_ANY),
                           5000, &m, NULL) == 0);
    return (double)(bench_now_ns() - t0) / 1e6;
}

static void root(ax_term_t arg)
{
    double kills[KILLS];
    ax_term_t peer;
    ax_term_t loop;
    ax_term_t busy;
    double alone;
    double beside;

    (void)arg;
    BENCH_CHECK(ax_module_load("build/examples/runaway.so", NULL, NULL) ==
                0);
    BENCH_CHECK(ax_spawn(echo, A("none"), &peer) == 0);
    alone = pingpong(peer);
    loop = start_loop();
    beside = pingpong(peer);
    ax_exit_signal(loop, A("kill"));
    BENCH_CHECK(ax_spawn(player, peer, &busy) == 0);
    for (int i = 0; i < KILLS; i++)
        kills[i] = kill_ms();
    ax_exit_signal(busy, A("kill"));
    printf("preempt_pingpong_alone %.0f round_trips/s\n", alone);
    printf("preempt_pingpong_beside %.0f round_trips/s\n", beside);
    printf("preempt_pingpong_share %.1f %%\n", 100.0 * beside / alone);
    printf("preempt_kill_median %.1f ms\n", bench_median(kills, KILLS));
    printf("preempt_kill_max %.1f ms\n", kills[KILLS - 1]); /* sorted */
    ax_exit_signal(peer, A("kill"));
}

int main(void)
{
    ax_node_opts_t o = {.schedulers = 1};
    char *reason = NULL;

    if (ax_node_start(&o) != 0 || ax_node_run(root, A("none"), &reason)) {
        fprintf(stderr, "preempt: %s\n", reason ? reason : "?");
        return 1;
    }
    free(reason);
    ax_node_stop();
    return 0;
}
