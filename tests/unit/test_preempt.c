/*
 * test_preempt.c - runaway module code is preempted by the watchdog: on
 * one scheduler a ping-pong pair keeps at least a quarter of its
 * throughput beside a server looping for ever, a kill ends the loop, and
 * the pair has the scheduler to itself again (bench/preempt measures the
 * shares). A long computation preempted many
 * times, beside another one, ends with the result it has unpreempted:
 * every register survives.
 */
#include <time.h>

#include "../modules/spin_work.h"
#include "mod_util.h"
#include "proc_util.h"

#define WINDOW_MS 300
#define WORK_N 40000000ull

static char dir[MOD_PATH_LEN];

static ax_term_t A(const char *name)
{
    return ax_atom(name);
}

static void setup(void)
{
    char so[MOD_PATH_LEN + 16];

    mod_dir_make(dir, "preempt");
    snprintf(so, sizeof(so), "%s/spin.so", dir);
    mod_build("spin.c", so);
}

static void teardown(void)
{
    mod_dir_remove(dir);
}

TestSuite(preempt, .init = setup, .fini = teardown, .timeout = 60);

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void echo(ax_term_t arg)
{
    ax_term_t m;

    (void)arg;
    while (ax_receive(AX_ANY, AX_INFINITY, &m, NULL) == 0)
        ax_send(ax_tuple_get(m, 0), ax_tuple_get(m, 1));
}

/* Round trips with an echo process in WINDOW_MS. */
static uint64_t pingpong(ax_term_t peer)
{
    uint64_t end = now_ms() + WINDOW_MS;
    uint64_t n = 0;
    ax_term_t m;

    while (now_ms() < end) {
        for (int i = 0; i < 64; i++) {
            ax_send(peer, ax_tuple(ax_heap(), 2, ax_self(), A("ping")));
            CHECK(ax_receive(A("ping"), 5000, &m, NULL) == 0);
        }
        n += 64;
    }
    return n;
}

static uint64_t preemptions(void)
{
    ax_sched_stats_t st;

    CHECK(ax_sched_stats(0, &st) == 0);
    return st.preemptions;
}

static ax_term_t start_spin(void)
{
    ax_term_t pid;

    CHECK(ax_gen_start(A("spin"), A("none"), NULL, &pid, NULL) == 0);
    return pid;
}

static void runaway_root(ax_term_t arg)
{
    ax_term_t peer;
    ax_term_t spin;
    ax_term_t mref;
    ax_term_t m;
    uint64_t alone;
    uint64_t beside;
    uint64_t after;
    uint64_t before;

    (void)arg;
    CHECK(ax_module_add_path(dir) == 0);
    CHECK(ax_spawn(echo, A("none"), &peer) == 0);
    alone = pingpong(peer);
    spin = start_spin();
    CHECK(ax_cast(spin, arg) == 0);
    before = preemptions();
    beside = pingpong(peer);
    CHECK(preemptions() > before);
    /* A quarter beside a loop in its module's code (as the issue asks);
     * an eighth beside one in libc, which needs more signals (see the
     * test below: the margin is for machines busy with other tests). */
    CHECK(beside * (arg == A("loop") ? 4 : 8) >= alone);
    CHECK(ax_monitor(spin, &mref) == 0);
    CHECK(ax_exit_signal(spin, A("kill")) == 0);
    CHECK(ax_receive(ax_tuple(ax_heap(), 5, A("DOWN"), mref, A("process"),
                              spin, A("killed")),
                     2000, &m, NULL) == 0);
    before = preemptions();
    after = pingpong(peer);
    /* The rest is restored: nothing is preempted any more, and the pair
     * does at least as well as beside the loop (ratios finer than that
     * are the benchmark's: machines are noisy). */
    CHECK(preemptions() == before);
    CHECK(after >= beside);
    ax_exit_signal(peer, A("kill"));
}

Test(preempt, runaway_beside_pingpong_then_killed)
{
    run_root(1, runaway_root, A("loop"));
}

/* The same with a loop that is in libc nearly all the time (98%: 16
 * KiB memsets): a signal that lands there cannot preempt it, one in the
 * module's code can, and the thread is signalled again every RETRY_US
 * until one does (preempt.c). The pair keeps some 35-40% of its
 * throughput here; with one signal a slice time, as before, it kept
 * 0-6%. */
Test(preempt, runaway_in_libc_beside_pingpong_then_killed)
{
    run_root(1, runaway_root, A("libc_loop"));
}

static void worker(ax_term_t arg)
{
    ax_term_t r;

    CHECK(ax_call(ax_tuple_get(arg, 0), ax_tuple_get(arg, 1), AX_INFINITY,
                  &r) == 0);
    ax_send(ax_tuple_get(arg, 2),
            ax_tuple(ax_heap(), 2, ax_tuple_get(arg, 1), r));
}

static void registers_root(ax_term_t arg)
{
    ax_term_t m;
    ax_term_t w;
    uint64_t before;
    int64_t got;

    (void)arg;
    CHECK(ax_module_add_path(dir) == 0);
    before = preemptions();
    for (int64_t seed = 1; seed <= 2; seed++) {
        ax_term_t req = ax_tuple(ax_heap(), 3, A("work"),
                                 ax_int(ax_heap(), (int64_t)WORK_N),
                                 ax_int(ax_heap(), seed));

        CHECK(ax_spawn(worker,
                       ax_tuple(ax_heap(), 3, start_spin(), req, ax_self()),
                       &w) == 0);
    }
    for (int i = 0; i < 2; i++) {
        int64_t seed;

        m = recv_any(60000);
        CHECK(ax_get_int(ax_tuple_get(ax_tuple_get(m, 0), 2), &seed) == 0);
        CHECK(ax_get_int(ax_tuple_get(m, 1), &got) == 0);
        CHECK((uint64_t)got == spin_work(WORK_N, (uint64_t)seed) >> 4);
    }
    CHECK(preemptions() > before);
}

Test(preempt, registers_survive)
{
    run_root(1, registers_root, A("none"));
}
