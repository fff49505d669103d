/*
 * proc_util.h - helpers for tests that run processes: a node per test,
 * a root process whose exit reason says what went wrong, and CHECK()
 * for use inside processes (Criterion's asserts must stay on the test's
 * own thread).
 */
#ifndef AX_TESTS_PROC_UTIL_H
#define AX_TESTS_PROC_UTIL_H

#include <criterion/criterion.h>
#include <stdlib.h>

#include "ax.h"

/* Ends the running process with {check_failed, Line, "expr"}. */
#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond))                                                      \
            ax_exit(ax_tuple(ax_heap(), 3, ax_atom("check_failed"),       \
                             ax_int(ax_heap(), __LINE__),                 \
                             ax_string(ax_heap(), #cond)));               \
    } while (0)

/* Starts a node with n schedulers, runs fn as its root, stops the node,
 * and fails the test unless the root exited normal. */
static inline void run_root(unsigned nscheds, ax_body_fn fn, ax_term_t arg)
{
    ax_node_opts_t o = {.schedulers = nscheds};
    ax_node_stats_t st;
    char *reason = NULL;
    int err;

    cr_assert_eq(ax_node_start(&o), 0);
    err = ax_node_run(fn, arg, &reason);
    ax_node_stats(&st);
    cr_assert_eq(ax_node_stop(), 0);
    /* A failure in deterministic mode names its seed, to replay it. */
    cr_assert_eq(err, 0, "root exited with %s (AX_SEED=%llu)",
                 reason ? reason : "?", (unsigned long long)st.seed);
    free(reason);
}

/* Receives any message within ms or fails. */
static inline ax_term_t recv_any(int64_t ms)
{
    ax_term_t m = AX_NONE;

    CHECK(ax_receive(AX_ANY, ms, &m, NULL) == 0);
    return m;
}

#endif /* AX_TESTS_PROC_UTIL_H */
