/*
 * test_fault.c - native faults end the faulting process, not the node:
 * stack overflow, NULL dereference, division by zero, abort(); its
 * monitors see the reason, and the node serves on.
 */
#include <signal.h>
#include <stdlib.h>

#include "proc_util.h"

/* The sanitizers would catch these faults first, and must not: they are
 * what the runtime is tested on. */
#define RAW_FAULT __attribute__((no_sanitize("undefined", "address")))

static ax_term_t A(const char *name)
{
    return ax_atom(name);
}

/* Recurses until the stack runs out (the limit only defeats the
 * compiler's proof that it never ends). */
RAW_FAULT static int deep(volatile int n)
{
    volatile char pad[512];

    pad[0] = (char)n;
    if (n == -1)
        return 0;
    return deep(n + 1) + pad[0];
}

static void overflow(ax_term_t arg)
{
    (void)arg;
    deep(0);
}

RAW_FAULT static void null_deref(ax_term_t arg)
{
    volatile int *p = NULL;

    (void)arg;
    *p = 1;
}

RAW_FAULT static void divide_by_zero(ax_term_t arg)
{
    volatile int zero = 0;
    volatile int x = 1;

    (void)arg;
    x = x / zero;
}

static void aborts(ax_term_t arg)
{
    (void)arg;
    abort();
}

/* The exit reason of fn, seen through a monitor. */
static ax_term_t reason_of(ax_body_fn fn)
{
    ax_term_t pid;
    ax_term_t ref;
    ax_term_t b[AX_VARS_MAX];
    ax_term_t m;

    CHECK(ax_spawn_monitor(fn, AX_NIL, &pid, &ref) == 0);
    CHECK(ax_receive(ax_tuple(ax_heap(), 5, A("DOWN"), ref, A("process"),
                              pid, AX_VAR(0)),
                     10000, &m, b) == 0);
    return b[0];
}

static void faults(ax_term_t arg)
{
    ax_term_t r;

    (void)arg;
    CHECK(reason_of(overflow) == A("stack_overflow"));
    r = reason_of(null_deref);
    CHECK(ax_equal_exact(r, ax_tuple(ax_heap(), 3, A("signal"), A("sigsegv"),
                                     ax_int(ax_heap(), 0))));
    r = reason_of(divide_by_zero);
    CHECK(ax_equal_exact(r, ax_tuple(ax_heap(), 2, A("signal"),
                                     A("sigfpe"))));
    r = reason_of(aborts);
    CHECK(ax_equal_exact(r, ax_tuple(ax_heap(), 2, A("signal"),
                                     A("sigabrt"))));
}

Test(fault, native_faults_end_only_their_process)
{
    run_root(2, faults, AX_NIL);
}

static void many_faults(ax_term_t arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++)
        CHECK(reason_of(i % 2 ? null_deref : overflow) != A("normal"));
}

Test(fault, the_node_survives_many_faults)
{
    run_root(2, many_faults, AX_NIL);
}
