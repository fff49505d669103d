/*
 * test_sched.c - schedulers: fairness between busy processes, many
 * producers into one mailbox (nothing lost, nothing doubled, order kept
 * per sender; run under ThreadSanitizer by `make tsan`), the
 * deterministic mode, node statistics, and the scheduler threads' names.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "proc_util.h"

static ax_term_t A(const char *name)
{
    return ax_atom(name);
}

/* --- Fairness ------------------------------------------------------------------ */

/* Burns reductions until told to stop, then reports them to the parent. */
static void busy(ax_term_t parent)
{
    uint64_t spent = 0;
    ax_term_t m;

    while (ax_receive(A("stop"), 0, &m, NULL) != 0) {
        ax_consume_reductions(10);
        spent += 10;
    }
    ax_send(parent, ax_tuple(ax_heap(), 2, ax_self(),
                             ax_int(ax_heap(), (int64_t)spent)));
}

static void fairness(ax_term_t arg)
{
    ax_term_t a;
    ax_term_t b;
    int64_t ra;
    int64_t rb;
    ax_term_t bind[AX_VARS_MAX];
    ax_term_t m;

    (void)arg;
    CHECK(ax_spawn(busy, ax_self(), &a) == 0);
    CHECK(ax_spawn(busy, ax_self(), &b) == 0);
    CHECK(ax_sleep(200) == 0);
    ax_send(a, A("stop"));
    ax_send(b, A("stop"));
    CHECK(ax_receive(ax_tuple(ax_heap(), 2, a, AX_VAR(0)), 5000, &m, bind) ==
          0);
    ax_get_int(bind[0], &ra);
    CHECK(ax_receive(ax_tuple(ax_heap(), 2, b, AX_VAR(0)), 5000, &m, bind) ==
          0);
    ax_get_int(bind[0], &rb);
    CHECK(ra > 0 && rb > 0);
    CHECK(ra * 10 >= rb * 8 && rb * 10 >= ra * 8); /* within 20% */
}

Test(sched, busy_processes_share_one_scheduler_fairly)
{
    run_root(1, fairness, AX_NIL);
}

/* --- Many producers, one mailbox ------------------------------------------------- */

#define PRODUCERS 50
#define PER_PRODUCER 2000

static void producer(ax_term_t arg)
{
    ax_term_t to = ax_tuple_get(arg, 0);
    ax_term_t id = ax_tuple_get(arg, 1);

    for (int64_t i = 0; i < PER_PRODUCER; i++)
        ax_send(to, ax_tuple(ax_heap(), 2, id, ax_int(ax_heap(), i)));
}

static void fan_in(ax_term_t arg)
{
    int64_t next[PRODUCERS];
    int64_t id;
    int64_t seq;
    ax_term_t last;

    (void)arg;
    memset(next, 0, sizeof(next));
    for (int i = 0; i < PRODUCERS; i++)
        CHECK(ax_spawn(producer,
                       ax_tuple(ax_heap(), 2, ax_self(), ax_int(ax_heap(), i)),
                       NULL) == 0);
    for (int n = 0; n < PRODUCERS * PER_PRODUCER; n++) {
        ax_term_t m = recv_any(10000);

        CHECK(ax_get_int(ax_tuple_get(m, 0), &id) == 0);
        CHECK(ax_get_int(ax_tuple_get(m, 1), &seq) == 0);
        CHECK(id >= 0 && id < PRODUCERS);
        CHECK(seq == next[id]); /* in order, none lost, none twice */
        next[id]++;
        if (n % 4096 == 0)
            ax_gc(NULL, 0);
    }
    CHECK(ax_receive(AX_ANY, 50, &last, NULL) == AX_ETIMEOUT);
}

Test(sched, many_producers_into_one_mailbox)
{
    run_root(2, fan_in, AX_NIL);
}

/* --- Deterministic mode --------------------------------------------------------- */

static void racer(ax_term_t arg)
{
    ax_send(ax_tuple_get(arg, 0), ax_tuple_get(arg, 1));
}

/* Records the order in which 20 racers report, as the root's exit. */
static void race(ax_term_t arg)
{
    ax_term_t order = AX_NIL;

    (void)arg;
    for (int i = 0; i < 20; i++)
        ax_spawn(racer,
                 ax_tuple(ax_heap(), 2, ax_self(), ax_int(ax_heap(), i)),
                 NULL);
    for (int i = 0; i < 20; i++)
        order = ax_cons(ax_heap(), recv_any(5000), order);
    ax_exit(order);
}

static char *race_with_seed(uint64_t seed)
{
    ax_node_opts_t o = {.seed = seed};
    char *reason = NULL;

    cr_assert_eq(ax_node_start(&o), 0);
    ax_node_run(race, AX_NIL, &reason);
    cr_assert_eq(ax_node_stop(), 0);
    cr_assert_not_null(reason);
    return reason;
}

Test(sched, a_seed_replays_the_same_schedule)
{
    char *a = race_with_seed(42);
    char *b = race_with_seed(42);
    char *c = race_with_seed(7);

    cr_assert_str_eq(a, b, "seed 42 gave %s then %s", a, b);
    cr_assert_str_neq(a, c, "seeds 42 and 7 both gave %s", a);
    free(a);
    free(b);
    free(c);
}

/* --- Statistics ------------------------------------------------------------------ */

static void stats(ax_term_t arg)
{
    ax_node_stats_t st;
    ax_sched_stats_t ss;

    (void)arg;
    for (int i = 0; i < 100; i++)
        ax_send(ax_self(), A("x"));
    for (int i = 0; i < 100; i++)
        recv_any(0);
    CHECK(ax_node_stats(&st) == 0);
    CHECK(st.schedulers == 2);
    CHECK(st.processes == 1);
    CHECK(st.messages >= 100);
    CHECK(st.process_limit == (size_t)1 << 20);
    CHECK(ax_sched_stats(0, &ss) == 0);
    CHECK(ss.utilisation >= 0.0 && ss.utilisation <= 1.0);
    CHECK(ax_sched_stats(2, &ss) == AX_EINVAL);
}

Test(sched, node_statistics)
{
    run_root(2, stats, AX_NIL);
}

Test(sched, node_start_twice_and_stop_when_stopped)
{
    cr_assert_eq(ax_node_stop(), AX_ESTATE);
    cr_assert_eq(ax_node_start(NULL), 0);
    cr_assert_eq(ax_node_start(NULL), AX_ESTATE);
    cr_assert_eq(ax_node_stop(), 0);
    cr_assert_eq(ax_spawn(racer, AX_NIL, NULL), AX_ESTATE);
}

/* --- A ping-pong pair does not starve the others ------------------------ */

static ax_term_t bouncer(ax_term_t msg, ax_term_t peer)
{
    if (ax_is_pid(msg))
        return msg;
    ax_send(peer, msg);
    return peer;
}

static void pair_and_timer(ax_term_t arg)
{
    ax_term_t a;
    ax_term_t b;
    ax_term_t m;

    (void)arg;
    CHECK(ax_spawn_handler(bouncer, AX_NIL, &a) == 0);
    CHECK(ax_spawn_handler(bouncer, AX_NIL, &b) == 0);
    ax_send(a, b);
    ax_send(b, a);
    ax_send(a, ax_atom("ball"));
    /* The pair bounces for ever; a process queued behind it must still
     * get to run, and tell us so. */
    CHECK(ax_spawn(racer, ax_tuple(ax_heap(), 2, ax_self(),
                                   ax_atom("still_here")),
                   NULL) == 0);
    CHECK(ax_receive(ax_atom("still_here"), 5000, &m, NULL) == 0);
    ax_exit_signal(a, ax_atom("kill"));
    ax_exit_signal(b, ax_atom("kill"));
}

Test(sched, a_ping_pong_pair_does_not_starve_one_scheduler)
{
    run_root(1, pair_and_timer, AX_NIL);
}

/* --- Thread names ------------------------------------------------------- */

/* How many of this process's threads are named name (as top -H shows). */
static int threads_named(const char *name)
{
    char path[300];
    char comm[32];
    struct dirent *e;
    DIR *d = opendir("/proc/self/task");
    int n = 0;

    CHECK(d != NULL);
    while ((e = readdir(d)) != NULL) {
        FILE *f;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        f = fopen(path, "r");
        if (!f)
            continue; /* the thread has ended */
        if (fgets(comm, sizeof(comm), f)) {
            comm[strcspn(comm, "\n")] = '\0';
            n += strcmp(comm, name) == 0;
        }
        fclose(f);
    }
    closedir(d);
    return n;
}

static void names(ax_term_t arg)
{
    (void)arg;
    CHECK(threads_named("ax-sched-0") == 1);
    CHECK(threads_named("ax-sched-1") == 1);
    CHECK(threads_named("ax-sched-2") == 0);
}

Test(sched, scheduler_threads_are_named)
{
    run_root(2, names, AX_NIL);
}
