/*
 * stress.c - concurrency tests run under ThreadSanitizer by `make tsan`
 * (Criterion cannot run under TSan: its shared arena clashes with TSan's
 * memory layout, Criterion issue #274). A plain program: each case runs
 * a node, prints "ok NAME" or "FAIL NAME: why", and the last line is the
 * plain "N passed, N failed" summary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax.h"

#define PRODUCERS 40
#define PER_PRODUCER 2500

static int passed;
static int failed;

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond))                                                      \
            ax_exit(ax_tuple(ax_heap(), 2, ax_atom("check_failed"),       \
                             ax_int(ax_heap(), __LINE__)));               \
    } while (0)

static void run(const char *name, unsigned nscheds, ax_body_fn fn)
{
    ax_node_opts_t o = {.schedulers = nscheds};
    char *reason = NULL;
    int err;

    if (ax_node_start(&o) != 0) {
        printf("FAIL %s: node start\n", name);
        failed++;
        return;
    }
    err = ax_node_run(fn, AX_NIL, &reason);
    ax_node_stop();
    if (err == 0) {
        printf("ok %s\n", name);
        passed++;
    } else {
        printf("FAIL %s: %s\n", name, reason ? reason : "?");
        failed++;
    }
    free(reason);
}

static void producer(ax_term_t arg)
{
    ax_term_t to = ax_tuple_get(arg, 0);
    ax_term_t id = ax_tuple_get(arg, 1);

    for (int64_t i = 0; i < PER_PRODUCER; i++)
        ax_send(to, ax_tuple(ax_heap(), 2, id, ax_int(ax_heap(), i)));
}

/* Many producers into one mailbox: none lost or doubled, order per
 * sender kept. */
static void fan_in(ax_term_t arg)
{
    int64_t next[PRODUCERS] = {0};
    int64_t id;
    int64_t seq;
    ax_term_t m;

    (void)arg;
    for (int i = 0; i < PRODUCERS; i++)
        CHECK(ax_spawn(producer,
                       ax_tuple(ax_heap(), 2, ax_self(), ax_int(ax_heap(), i)),
                       NULL) == 0);
    for (int n = 0; n < PRODUCERS * PER_PRODUCER; n++) {
        CHECK(ax_receive(AX_ANY, 20000, &m, NULL) == 0);
        CHECK(ax_get_int(ax_tuple_get(m, 0), &id) == 0);
        CHECK(ax_get_int(ax_tuple_get(m, 1), &seq) == 0);
        CHECK(id >= 0 && id < PRODUCERS && seq == next[id]);
        next[id]++;
        if (n % 4096 == 0)
            ax_gc(NULL, 0);
    }
    CHECK(ax_receive(AX_ANY, 20, &m, NULL) == AX_ETIMEOUT);
}

static void linked_worker(ax_term_t arg)
{
    ax_term_t m;

    (void)arg;
    ax_receive(ax_atom("never"), AX_INFINITY, &m, NULL);
}

/* Spawn linked and monitored processes and kill them while they start:
 * every DOWN arrives exactly once, and trapped EXITs match. */
static void kill_storm(ax_term_t arg)
{
    enum { N = 2000 };
    ax_term_t pid;
    ax_term_t ref;
    ax_term_t m;
    int downs = 0;
    int exits = 0;

    (void)arg;
    ax_trap_exit(true);
    for (int i = 0; i < N; i++) {
        ax_spawn_opts_t o = {.body = linked_worker, .arg = AX_NIL,
                             .flags = AX_SPAWN_LINK | AX_SPAWN_MONITOR,
                             .name = AX_NONE};

        CHECK(ax_spawn_opt(&o, &pid, &ref) == 0);
        CHECK(ax_exit_signal(pid, ax_atom(i % 2 ? "kill" : "boom")) == 0);
    }
    while (downs < N || exits < N) {
        CHECK(ax_receive(AX_ANY, 20000, &m, NULL) == 0);
        if (ax_tuple_get(m, 0) == ax_atom("DOWN"))
            downs++;
        else if (ax_tuple_get(m, 0) == ax_atom("EXIT"))
            exits++;
    }
    CHECK(ax_receive(AX_ANY, 20, &m, NULL) == AX_ETIMEOUT);
}

static ax_term_t relay(ax_term_t msg, ax_term_t next)
{
    int64_t n;

    ax_get_int(msg, &n);
    ax_send(next, ax_int(ax_heap(), n - 1));
    return next;
}

static void last_of_ring(ax_term_t arg)
{
    ax_term_t m;
    ax_term_t root = arg;

    ax_receive(AX_ANY, AX_INFINITY, &m, NULL);
    ax_send(root, m);
}

/* A ring of handler processes passing a token across two schedulers. */
static void ring(ax_term_t arg)
{
    ax_term_t next;
    ax_term_t m;

    (void)arg;
    CHECK(ax_spawn(last_of_ring, ax_self(), &next) == 0);
    for (int i = 0; i < 500; i++)
        CHECK(ax_spawn_handler(relay, next, &next) == 0);
    ax_send(next, ax_int(ax_heap(), 500));
    CHECK(ax_receive(AX_ANY, 20000, &m, NULL) == 0);
    CHECK(m == ax_int(ax_heap(), 0));
}

int main(void)
{
    run("many_producers_into_one_mailbox", 2, fan_in);
    run("kill_storm", 2, kill_storm);
    run("ring_across_schedulers", 2, ring);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
